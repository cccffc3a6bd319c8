"""A battery of corrupt run folders next to healthy runs: every kind is reported by name,
and `list`, `status` and every page keep working for the healthy runs.

Each corrupt folder is a copy of a healthy, finished run under another seed (so another
run id) with the *same name*: a page looking runs up by name would pick it if the store
let it through."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cache import store
from cli import main as cli_main
from lessons import PAGES
from runspec import build_spec
from tests.conftest import build_run, point_app_at, tiny
from training.presets import get_preset
from ui import data

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HEALTHY = (("polynomial-degree19", dict(epochs=4)), ("polynomial-degree1", dict(epochs=3)),
           ("polynomial-degree3", dict(epochs=3, optim__lr=100.0)))    # the last one diverges


def _status(folder: Path, **fields) -> None:
    payload = json.loads((folder / "status.json").read_text())
    payload.update(fields)
    (folder / "status.json").write_text(json.dumps(payload))


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _replace(path: Path, content: bytes) -> None:
    path.unlink(missing_ok=True)
    path.write_bytes(content)


def _meta_version(folder: Path, version: str) -> None:
    with sqlite3.connect(folder / "metrics.sqlite") as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))


def _symlink(path: Path, target: Path | str) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(target)


# kind -> how to spoil a copy of a healthy folder (each gets its own copy)
CORRUPTIONS = {
    "status: schema_version is a string": lambda f: _status(f, schema_version="1"),
    "status: heartbeat is a string": lambda f: _status(f, state="running", pid=1, heartbeat="yesterday"),
    "status: pid is a string": lambda f: _status(f, state="running", pid="123"),
    "status: progress is a list": lambda f: _status(f, progress=[1]),
    "status: final is a string": lambda f: _status(f, final="great"),
    "status: step is negative": lambda f: _status(f, step=-5),
    "status: unknown state": lambda f: _status(f, state="exploded"),
    "status: future schema": lambda f: _status(f, schema_version=99),
    "status: truncated": lambda f: _replace(f / "status.json", (f / "status.json").read_bytes()[:40]),
    "status: not an object": lambda f: _replace(f / "status.json", b"[1, 2, 3]"),
    "status: empty": lambda f: _replace(f / "status.json", b""),
    "status: not UTF-8": lambda f: _replace(f / "status.json", bytes(range(128, 256))),
    "status: 2 MB": lambda f: _replace(f / "status.json", b'{"state": "finished", "x": "' + b"y" * 2**21 + b'"}'),
    "status: missing": lambda f: (f / "status.json").unlink(),
    "status: a directory": lambda f: ((f / "status.json").unlink(), (f / "status.json").mkdir()),
    "status: a fifo": lambda f: _fifo(f / "status.json"),
    "status: a symlink": lambda f: _symlink(f / "status.json", "/etc/hostname"),
    "spec: truncated": lambda f: _replace(f / "spec.json", (f / "spec.json").read_bytes()[:30]),
    "spec: wrong types": lambda f: _replace(f / "spec.json", json.dumps(
        {**json.loads((f / "spec.json").read_text()), "epochs": "ten"}).encode()),
    "spec: out of today's bounds": lambda f: _replace(f / "spec.json", json.dumps(
        {**json.loads((f / "spec.json").read_text()), "model": {"widths": [100_000_000]}}).encode()),
    "spec: nested 100000 deep": lambda f: _replace(f / "spec.json", b"[" * 100_000 + b"]" * 100_000),
    "spec: missing": lambda f: (f / "spec.json").unlink(),
    "spec: a fifo": lambda f: _fifo(f / "spec.json"),
    "spec: a symlink": lambda f: _symlink(f / "spec.json", "/etc/hostname"),
    "metrics: garbage bytes": lambda f: _replace(f / "metrics.sqlite", os.urandom(8192)),
    "metrics: truncated header": lambda f: _replace(f / "metrics.sqlite", (f / "metrics.sqlite").read_bytes()[:10]),
    "metrics: future schema": lambda f: _meta_version(f, "99"),
    "metrics: a fifo": lambda f: _fifo(f / "metrics.sqlite"),
    "metrics: a symlink": lambda f: _symlink(f / "metrics.sqlite", "/dev/zero"),
}
FOLDER_KINDS = ("folder: a symlink to a healthy run", "folder: half-made (staging)")


def healthy_runs(cache_dir: Path) -> dict[str, Path]:
    runs = {}
    for name, overrides in HEALTHY:
        runs[name] = build_run(tiny(get_preset(name).spec, **overrides), cache_dir)
    return runs


def spoiled_copy(source: Path, cache_dir: Path, seed: int) -> Path:
    """A copy of `source` under another seed (a new run id, the same name)."""
    spec = store.read_spec(source)
    twin = build_spec({**json.loads(spec.to_json()), "seed": spec.seed + seed})
    target = cache_dir / twin.run_id
    shutil.copytree(source, target)
    (target / "spec.json").write_text(twin.to_json())
    _status(target, created=2e9 + seed, finished=2e9 + seed)   # newer than the healthy one: a page would pick it
    return target


def add_folder_kind(kind: str, cache_dir: Path, healthy: Path, outside: Path) -> Path:
    if kind.startswith("folder: a symlink"):
        shutil.copytree(healthy, outside / healthy.name)
        link = cache_dir / "0123456789ab"
        link.symlink_to(outside / healthy.name)
        return link
    staging = cache_dir / f"{store.STAGING_PREFIX}fedcba987654-1-abc"
    staging.mkdir()
    (staging / ".status.json.1.1.tmp").write_text("{")
    return staging


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """A demo cache of healthy runs and a user cache of one corrupt folder per kind."""
    root = tmp_path_factory.mktemp("battery")
    demo, mine, outside = root / "demo", root / "mine", root / "outside"
    demo.mkdir(), mine.mkdir(), outside.mkdir()
    runs = healthy_runs(demo)
    source = runs["polynomial-degree19"]
    spoiled = {kind: spoiled_copy(source, mine, seed) for seed, kind in enumerate(CORRUPTIONS, start=1)}
    for kind, folder in spoiled.items():
        CORRUPTIONS[kind](folder)
    for kind in FOLDER_KINDS:
        spoiled[kind] = add_folder_kind(kind, mine, source, outside)
    return demo, mine, runs, spoiled


def test_at_least_twenty_kinds():
    assert len(CORRUPTIONS) + len(FOLDER_KINDS) >= 20


@pytest.mark.parametrize("kind", [*CORRUPTIONS, *FOLDER_KINDS])
def test_each_kind_is_reported_by_name_and_the_rest_listed(caches, kind):
    demo, mine, runs, spoiled = caches
    frame, problems = store.list_runs([demo, mine])
    assert sorted(frame["run_id"]) == sorted(f.name for f in runs.values())
    assert [p for p in problems if str(spoiled[kind]) in p], f"{kind} is not reported: {problems}"
    listing, app_problems = data.all_runs([demo, mine])
    assert sorted(listing["run_id"]) == sorted(f.name for f in runs.values())
    assert any(str(spoiled[kind]) in p for p in app_problems)


def test_every_kind_has_its_own_problem(caches):
    demo, mine, _, spoiled = caches
    _, problems = store.list_runs([mine])
    assert len(problems) == len(spoiled)


def test_cli_list_and_status_keep_working(caches, capsys):
    demo, mine, runs, spoiled = caches
    assert cli_main(["list", "--cache-dir", str(mine)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("no runs") and captured.err.count("unreadable:") == len(spoiled)
    assert cli_main(["list", "--json", "--cache-dir", str(demo)]) == 0
    assert len(json.loads(capsys.readouterr().out)["runs"]) == len(runs)
    copies = [shutil.copytree(folder, mine / folder.name) for folder in runs.values()]   # healthy ones too
    try:
        assert cli_main(["status", "--cache-dir", str(mine)]) == 0
        captured = capsys.readouterr()
        assert sorted(line.split()[0] for line in captured.out.splitlines()) == sorted(f.name for f in copies)
        assert captured.err.count("unreadable:") == len(spoiled)
        bad = spoiled["status: heartbeat is a string"].name
        assert cli_main(["status", bad, "--cache-dir", str(mine)]) == 2
        assert "heartbeat" in capsys.readouterr().err
    finally:
        for copy in copies:
            shutil.rmtree(copy)


@pytest.mark.parametrize("page", [p.path for p in PAGES])
def test_every_page_keeps_working(caches, monkeypatch, page):
    demo, mine, _, spoiled = caches
    point_app_at(monkeypatch, demo, mine)
    app = AppTest.from_file(APP, default_timeout=120).switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    errors = "\n".join(str(e.value) for e in app.error)
    assert "cannot be read" not in errors, errors
    if page.endswith("runs.py"):
        table = app.dataframe[0].value
        assert sorted(table["name"]) == sorted(name for name, _ in HEALTHY)
        assert any(f"{len(spoiled)} run folder(s) cannot be read" in e.label for e in app.expander)
