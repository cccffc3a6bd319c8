# The README's quick start: `make app` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray

# make app binds this machine only; make app-room serves the network (a classroom).
ADDRESS ?= 127.0.0.1
PORT ?= 8501
# owner mode (manage every run, CLI-launched ones too) only where nobody else can connect
OWNER = $(if $(filter 127.0.0.1 localhost ::1,$(ADDRESS)),-- --owner,)
STREAMLIT = $(PY) -m streamlit run app.py --server.headless true --browser.gatherUsageStats false \
	--server.port $(PORT)

.PHONY: app app-room test bench demo ray clean-runs

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(RAY_STAMP): requirements-ray.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-ray.txt
	touch $(RAY_STAMP)

## make ray: add the optional Ray backend (requirements-ray.txt) to .venv
ray: $(RAY_STAMP)

## make app: set up .venv and open the lab on this machine only (127.0.0.1), in owner
## mode: the app may cancel and delete every run in your cache, CLI-launched ones too
## (make app ADDRESS=0.0.0.0 serves the network, and then without owner mode)
app: $(STAMP)
	$(STREAMLIT) --server.address $(ADDRESS) $(OWNER)

## make app-room: serve every network interface for a room; each visitor can cancel or
## delete only the jobs their own session launched (add READ_ONLY=1 for a projector)
app-room: $(STAMP)
	REGLAB_READ_ONLY=$(READ_ONLY) $(STREAMLIT) --server.address 0.0.0.0

## make test: set up .venv and run the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m training precompute

clean-runs:
	rm -rf cache/runs
