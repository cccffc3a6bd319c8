"""The hardening cases, measured on any checkout of the lab (to compare before and after):

    python bench/hardening_cases.py [REPO_ROOT] [--only NAME ...]

Uses only what every version has (the CLI, jobs.launch/cancel, store.read_status, the
app), so the same script runs on an older checkout. Full-disk cases need root (a 2 MB
tmpfs); they are skipped otherwise. Prints one line per case.
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = argparse.ArgumentParser()
ARGS.add_argument("repo", nargs="?", default=str(Path(__file__).resolve().parent.parent))
ARGS.add_argument("--only", nargs="*")
OPTS = ARGS.parse_args()
REPO = Path(OPTS.repo).resolve()
sys.path.insert(0, str(REPO))
os.chdir(REPO)
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

from cache import store  # noqa: E402
from training import jobs  # noqa: E402
from training.presets import get_preset  # noqa: E402

POLY = get_preset("polynomial-degree3").spec.with_overrides({"probe_every": 20, "name": "cases"})
KEYS = ["step", "member", "split", "metric", "kind"]
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def fresh_cache() -> Path:
    path = Path(tempfile.mkdtemp(prefix="cases-")) / "runs"
    path.mkdir()
    return path


def cli(*argv, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training", *map(str, argv)], cwd=REPO, env=ENV, text=True,
                          capture_output=True, timeout=timeout)


def wait_for(predicate, timeout=150.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def status(cache: Path, run_id: str) -> dict:
    return json.loads((cache / run_id / "status.json").read_text())


def state(cache: Path, run_id: str) -> str:
    try:
        return store.read_status(cache / run_id)["state"]
    except Exception as err:  # noqa: BLE001
        return f"unreadable ({type(err).__name__})"


def duplicates(folder: Path) -> int:
    return int(store.read_table(folder, "scalars").duplicated(KEYS).sum())


def trainings(folder: Path) -> int:
    return (folder / "job.log").read_text().count("training\n")


RACER = ("import os, sys, time\nfrom cli import main\nprint('ready', flush=True)\n"
         "while not os.path.exists(sys.argv[1]): time.sleep(0.001)\nsys.exit(main(sys.argv[2:]))")


def race(cache: Path, argv: list[str], n: int = 2) -> list[subprocess.CompletedProcess]:
    go = cache.parent / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(go), *argv], cwd=REPO, env=ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    for proc in procs:
        proc.stdout.readline()
    go.touch()
    return [subprocess.CompletedProcess(argv, p.wait(), *p.communicate()) for p in procs]


def settle(cache: Path, run_id: str, timeout=150.0) -> str:
    wait_for(lambda: state(cache, run_id) not in ("queued", "running"), timeout)
    return state(cache, run_id)


# ---------------------------------------------------------------- one writer per run

@case
def two_resumes(slots: int = 2) -> str:
    cache = fresh_cache()
    run_id = jobs.launch(POLY.with_overrides({"epochs": 40, "seed": 11}), cache, slots=slots)
    wait_for(lambda: (status(cache, run_id).get("epoch") or 0) >= 3)
    os.kill(status(cache, run_id)["pid"], signal.SIGKILL)
    wait_for(lambda: state(cache, run_id) == "interrupted")
    codes = [r.returncode for r in race(cache, ["resume", run_id, "--slots", str(slots), "--cache-dir", str(cache)])]
    time.sleep(1)
    final = settle(cache, run_id)
    return (f"exit codes {codes}; {final}; jobs that trained: {trainings(cache / run_id)}; "
            f"duplicate rows: {duplicates(cache / run_id)}")


def two_launches(slots: int) -> str:
    cache = fresh_cache()
    spec = POLY.with_overrides({"epochs": 20, "seed": 20 + slots})
    spec_file = cache.parent / "spec.json"
    spec_file.write_text(spec.to_json())
    race(cache, ["launch", "--spec", str(spec_file), "--slots", str(slots), "--cache-dir", str(cache)])
    time.sleep(1)
    final = settle(cache, spec.run_id)
    wait_for(lambda: not any(p for p in _job_pids(cache)), 60)
    return f"{final}; jobs that trained: {trainings(cache / spec.run_id)}; duplicate rows: " \
           f"{duplicates(cache / spec.run_id)}"


def _job_pids(cache: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", str(cache)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@case
def two_launches_1_slot() -> str:
    return two_launches(1)


@case
def two_launches_2_slots() -> str:
    return two_launches(2)


HOOK = """
import os, signal, sys
from cache import store
from training import trainer
if sys.argv[1] == "kill":
    for name in ("write_status", "write_last_word"):
        original = getattr(store, name, None)
        if original is not None:
            def wrapped(folder, _original=original, **fields):
                if fields.get("state") == "finished":
                    os.kill(os.getpid(), signal.SIGKILL)
                return _original(folder, **fields)
            setattr(store, name, wrapped)
else:
    epoch = trainer.Trainer.train_epoch
    def counted(self):
        with open(sys.argv[2] + "/../epochs-trained", "a") as f:
            f.write("x")
        return epoch(self)
    trainer.Trainer.train_epoch = counted
from cli import main
sys.exit(main(["job", sys.argv[3], "--cache-dir", sys.argv[2], "--slots", "1"]))
"""


@case
def kill_after_final_checkpoint() -> str:
    cache = fresh_cache()
    spec = POLY.with_overrides({"epochs": 30, "seed": 30})
    store.create_run_folder(cache, spec)
    subprocess.run([sys.executable, "-c", HOOK, "kill", str(cache), spec.run_id], cwd=REPO, env=ENV, timeout=150)
    killed = state(cache, spec.run_id)
    store.write_status(cache / spec.run_id, state="queued", pid=None)     # what resume does, then its job:
    subprocess.run([sys.executable, "-c", HOOK, "count", str(cache), spec.run_id], cwd=REPO, env=ENV, timeout=150)
    counter = cache.parent / "epochs-trained"
    again = len(counter.read_text()) if counter.exists() else 0
    return f"killed: {killed}; after resume: {state(cache, spec.run_id)}; epochs trained again: {again} of 30"


# ---------------------------------------------------------------- bounded work

@case
def waiting_job_rss() -> str:
    cache = fresh_cache()
    (cache / ".slots").mkdir()
    with open(cache / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        ids = [jobs.launch(POLY.with_overrides({"epochs": 5, "seed": s}), cache, slots=1) for s in range(6)]
        wait_for(lambda: all("waiting" in (cache / r / "job.log").read_text() for r in ids))
        time.sleep(1)
        rss = [int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{status(cache, r)['pid']}/status").read_text())[1])
               for r in ids]
        for run_id in ids:
            jobs.cancel(run_id, cache)
    return f"one waiting job: {rss[0] / 1024:.1f} MB; a 6-run sweep waiting: {sum(rss) / 1024:.0f} MB"


@case
def huge_launch() -> str:
    cache = fresh_cache()
    done = cli("launch", "--preset", "d2l-mlp", "--set", "model.widths=[100000000]", "--set", "epochs=100000",
               "--cache-dir", cache)
    folders = [p.name for p in cache.iterdir() if not p.name.startswith(".")]
    for run_id in folders:
        jobs.cancel(run_id, cache, wait_s=3)
    return f"exit {done.returncode}, run folders made: {len(folders)}; {done.stderr.strip().splitlines()[-1][:110]}"


@case
def make_app_address() -> str:
    dry = subprocess.run(["make", "-n", "app", "STAMP=Makefile"], cwd=REPO, capture_output=True, text=True).stdout
    found = re.search(r"--server\.address (\S+)", dry)
    return f"binds {found[1] if found else '0.0.0.0 (streamlit default)'}"


@case
def slots_minus_one() -> str:
    cache = fresh_cache()
    done = cli("launch", "--preset", "polynomial-degree3", "--set", "epochs=2", "--slots", "-1", "--cache-dir", cache)
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1][:100]}"
    run_id = done.stdout.strip()
    time.sleep(8)
    seen = state(cache, run_id)
    jobs.cancel(run_id, cache, wait_s=3)
    return f"exit 0, still {seen} after 8 s (waits forever)"


@case
def mixed_slots() -> str:
    """REGLAB_SLOTS=1, jobs launched with --slots 1 and --slots 2: how many train at once?"""
    cache = fresh_cache()
    env = {**ENV, "REGLAB_SLOTS": "1"}
    ids = []
    for seed, slots in ((0, 1), (1, 2)):
        done = subprocess.run([sys.executable, "-m", "training", "launch", "--preset", "polynomial-degree3", "--set",
                               "epochs=300", "--set", f"seed={seed}", "--slots", str(slots), "--cache-dir", str(cache)],
                              cwd=REPO, env=env, capture_output=True, text=True)
        ids.append(done.stdout.strip())
    for run_id in ids:
        settle(cache, run_id)
    spans = sorted((status(cache, r)["started"], status(cache, r)["finished"]) for r in ids)
    overlap = spans[0][1] > spans[1][0]
    return f"trained at once: {2 if overlap else 1} (configured 1)"


# ---------------------------------------------------------------- a full disk

def mount_small_disk() -> Path | None:
    path = Path(tempfile.mkdtemp(prefix="disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
    return path if done.returncode == 0 else None


def fill(disk: Path, leave: int = 0) -> None:
    filler = disk / f"filler-{time.time_ns()}"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    handle.write(b"x" * chunk)
            except OSError as err:
                assert err.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))


def disk_case(moment: str, leave: int = 0) -> str:
    disk = mount_small_disk()
    if disk is None:
        return "skipped (cannot mount a tmpfs)"
    try:
        cache = disk / "runs"
        cache.mkdir()
        spec = POLY.with_overrides({"epochs": 3000, "seed": 61 + leave})
        if moment == "at launch":
            fill(disk)
            done = cli("launch", "--spec", _spec_file(spec), "--cache-dir", cache)
            left = sorted(p.name for p in cache.iterdir() if p.name not in (".slots", ".queue"))
            tmp = [p.name for p in cache.rglob("*.tmp")]
            err = done.stderr.strip().splitlines()[-1][:70] if done.stderr.strip() else ""
            return f"exit {done.returncode}; left behind: {left or 'nothing'} {tmp or ''}; {err}"
        run_id = jobs.launch(spec, cache, slots=1)
        wait_for(lambda: (status(cache, run_id).get("epoch") or 0) >= 2)
        fill(disk, leave)
        final = settle(cache, run_id)
        shown = store.read_status(cache / run_id)
        text = shown.get("error") or shown.get("reason") or ""
        return f"{final}: {text[:90]}"
    finally:
        for pid in _job_pids(disk):
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["umount", "-l", str(disk)])


def _spec_file(spec) -> str:
    path = Path(tempfile.mkdtemp()) / "spec.json"
    path.write_text(spec.to_json())
    return str(path)


for _leave in (0, 1024, 4096, 16384, 65536, 262144):
    CASES[f"disk_full_in_training_leave_{_leave}"] = (lambda leave: lambda: disk_case("training", leave))(_leave)
CASES["disk_full_at_launch"] = lambda: disk_case("at launch")


# ---------------------------------------------------------------- bad folders, signals, the app

def bad_cache() -> tuple[Path, Path, str]:
    """A demo cache with one healthy run and a user cache with two wrong-typed status files."""
    from tests.conftest import build_run

    demo, mine = fresh_cache(), fresh_cache()
    healthy = build_run(POLY.with_overrides({"epochs": 2, "name": "polynomial-degree3"}), demo)
    for seed, fields in ((1, {"schema_version": "1"}), (2, {"state": "running", "pid": 1, "heartbeat": "x"})):
        folder = build_run(POLY.with_overrides({"epochs": 2, "seed": seed}), mine)
        payload = json.loads((folder / "status.json").read_text())
        payload.update(fields)
        (folder / "status.json").write_text(json.dumps(payload))
    return demo, mine, healthy.name


@case
def bad_status_listing() -> str:
    demo, mine, _ = bad_cache()
    listed, status_cmd = cli("list", "--cache-dir", mine), cli("status", "--cache-dir", mine)
    return f"list exit {listed.returncode}, status exit {status_cmd.returncode}" + \
           (" (traceback)" if "Traceback" in listed.stderr + status_cmd.stderr else "")


@case
def bad_status_pages() -> str:
    from streamlit.testing.v1 import AppTest

    from lessons import PAGES

    demo, mine, _ = bad_cache()
    os.environ.update(REGLAB_DEMO_DIR=str(demo), REGLAB_CACHE_DIR=str(mine))
    broken = []
    for page in PAGES:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).switch_page(page.path).run()
        if app.exception or any("cannot be read" in str(e.value) for e in app.error):
            broken.append(page.id)
    return f"{len(broken)} of {len(PAGES)} pages fail: {broken}"


@case
def forged_pid() -> str:
    cache = fresh_cache()
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    spec = POLY.with_overrides({"epochs": 2, "seed": 40})
    folder = store.create_run_folder(cache, spec)
    payload = json.loads((folder / "status.json").read_text())
    payload.update(state="running", pid=victim.pid, heartbeat=time.time(), token="forged")
    try:
        payload["pid_start"] = int(Path(f"/proc/{victim.pid}/stat").read_text().rsplit(") ", 1)[1].split()[19])
    except OSError:
        pass
    (folder / "status.json").write_text(json.dumps(payload))
    cli("cancel", spec.run_id, "--cache-dir", cache)
    time.sleep(0.5)
    alive = victim.poll() is None
    victim.kill()
    return "the forged pid's process survived" if alive else "the forged pid's process was killed"


def app_action(cache: Path, run_id: str, env: dict) -> str:
    from streamlit.testing.v1 import AppTest

    def script(run_id, folder):
        from pathlib import Path

        from ui import run_live

        run_live._cancel(run_id, Path(folder))

    os.environ.update(env)
    try:
        AppTest.from_function(script, args=(run_id, str(cache / run_id)), default_timeout=60).run()
    finally:
        for key in env:
            os.environ.pop(key, None)
    return state(cache, run_id)


def queued_cli_job() -> tuple[Path, str, object]:
    cache = fresh_cache()
    (cache / ".slots").mkdir()
    slot = open(cache / ".slots" / "slot-0.lock", "a")
    fcntl.flock(slot, fcntl.LOCK_EX)
    run_id = jobs.launch(POLY.with_overrides({"epochs": 2, "seed": 45}), cache, slots=1)
    wait_for(lambda: "waiting" in (cache / run_id / "job.log").read_text())
    return cache, run_id, slot


@case
def read_only_callback() -> str:
    cache, run_id, slot = queued_cli_job()
    after = app_action(cache, run_id, {"REGLAB_READ_ONLY": "1", "REGLAB_CACHE_DIR": str(cache)})
    if after == "queued":
        jobs.cancel(run_id, cache)
    return f"cancel callback in read-only mode: the job is {after}"


@case
def visitor_cancels_cli_job() -> str:
    cache, run_id, slot = queued_cli_job()
    after = app_action(cache, run_id, {"REGLAB_CACHE_DIR": str(cache)})
    if after == "queued":
        jobs.cancel(run_id, cache)
    return f"a visitor's cancel of a CLI job: the job is {after}"


@case
def spec_not_utf8() -> str:
    path = Path(tempfile.mkdtemp()) / "spec.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    done = cli("run", "--spec", path)
    return f"exit {done.returncode}" + (" with a traceback" if "Traceback" in done.stderr else
                                        f": {done.stderr.strip()[:80]}")


@case
def walkthrough_step() -> str:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).switch_page("views/walkthroughs.py")
    app.query_params["step"] = "\u00b2"
    app.run()
    return "crash: " + str(app.exception[0].value)[:60] if app.exception else "falls back to step 1"


if __name__ == "__main__":
    for name, run in CASES.items():
        if OPTS.only and name not in OPTS.only:
            continue
        started = time.time()
        try:
            result = run()
        except Exception as err:  # noqa: BLE001 - a case that breaks is itself a result
            result = f"error: {type(err).__name__}: {str(err)[:100]}"
        print(f"{name:<36} {result}  [{time.time() - started:.0f} s]", flush=True)
