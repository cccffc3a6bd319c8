# The README's quick start: `make app` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray

.PHONY: app test bench demo ray clean-runs

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

## make app: set up .venv and open the lab on the demo caches
app: $(STAMP)
	$(PY) -m streamlit run app.py --server.headless true --browser.gatherUsageStats false

## make test: set up .venv and run the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(PY) -m training precompute

clean-runs:
	rm -rf cache/runs
