"""A real suite that never uses asyncio (14): pytest-xdist's own test suite, at -n 2,
in a virtualenv with the plugin installed against one without it. pytester starts
many pytest runs of its own, in-process and in subprocesses, each with its xdist
workers, and the plugin loads in every one: what the plugin costs a sync suite's
machine, in CPU time, and whether it changes which tests fail."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from harness import ROOT, TESTS_RAN, Config, Row, Run, alternate_runs, paired_ratio

VENVS = ROOT / ".venvs"
# "FAILED <node id> - <message>": the id has no spaces but in its [parameters].
FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) ([^\s\[]+(?:\[[^\]]*\])?)", re.MULTILINE)
WITH, WITHOUT = "with the plugin", "without the plugin"
NAME = "14. pytest-xdist's own test suite (CPU time, -n 2)"
# Tests known to fail now and then whether the plugin is installed or not: still listed
# when they fail only with it, with this remark.
KNOWN_FLAKY = {
    "testing/acceptance_test.py::TestNodeFailure::test_max_worker_restart_tests_queued": (
        "timing-flaky both ways (issue 27)"
    ),
}


def xdist_suite(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """pytest-xdist's test suite (``testing/`` of its sdist, the version installed
    here) at -n 2: CPU time (user + sys of pytest and every process it waited for)
    in .venvs/xdist-suite-with, which has the plugin installed editable from this
    checkout, against .venvs/xdist-suite-without, which has the same packages without
    it; ``rounds`` alternating pairs. Reports the median CPU seconds of each, the
    median per-pair ratio (the goal: 1.02 at most), and the tests that fail in each;
    a test that fails with the plugin and never without it is named in the note."""
    xdist = version("pytest-xdist")
    source = _xdist_source(work, xdist)
    pythons = {
        WITHOUT: _venv("xdist-suite-without", xdist, plugin=False),
        WITH: _venv("xdist-suite-with", xdist, plugin=True),
    }
    _same_packages(pythons[WITHOUT], pythons[WITH])
    runs = {
        label: (source, _config(label, python)) for label, python in pythons.items()
    }
    failures: dict[str, Counter[str]] = {label: Counter() for label in runs}
    counted: Counter[str] = Counter()

    def record(label: str, done: Run) -> None:
        failures[label].update(_failed(done.stdout))
        counted[label] += 1
        summary = done.stdout.strip().splitlines()[-1].strip("= ")
        print(
            f"  {label:<20} {done.cpu_s:7.1f} s CPU {done.wall_s:6.1f} s  {summary}",
            flush=True,
        )

    # The warm-up runs count for failures too: the more runs, the better flaky tests
    # show as flaky.
    timed = alternate_runs(runs, rounds, ok=TESTS_RAN, on_run=record)
    cpu = {label: [one.cpu_s for one in samples] for label, samples in timed.items()}
    wall = {label: [one.wall_s for one in samples] for label, samples in timed.items()}
    failing = _failing_note(failures, counted)
    rows = []
    for label in (WITHOUT, WITH):
        median = statistics.median(cpu[label])
        ratio = paired_ratio(cpu[label], cpu[WITHOUT])
        note = (
            f"median wall {statistics.median(wall[label]):.1f} s; "
            f"{rounds} pairs; fails: {failing[label]}"
        )
        rows.append(Row(NAME, label, median, ratio, WITHOUT, note.replace("|", "/")))
        print(f"  {label:<48} {median:8.3f} s CPU  x{ratio:.3f}", flush=True)
        print(f"    fails: {failing[label]}", flush=True)
    return rows


def _config(label: str, python: Path) -> Config:
    venv = python.parent.parent
    # pytester and execnet start Python as sys.executable; PATH and VIRTUAL_ENV point
    # at the same virtualenv for anything that looks there.
    env = {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    return Config(label, ["-n", "2", "testing"], python=str(python), env=env)


def _xdist_source(work: Path, xdist: str) -> Path:
    """pytest-xdist's sdist, downloaded once into .venvs/ and unpacked afresh."""
    cache = VENVS / "xdist-suite-src"
    sdist = cache / f"pytest_xdist-{xdist}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet"),
                *("--no-binary", ":all:", "--no-deps", f"pytest-xdist=={xdist}"),
                *("--dest", str(cache)),
            ],
            check=True,
        )
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    return work / f"pytest_xdist-{xdist}"


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise SystemExit("xdist_suite needs uv (scripts/bench installs it in .venv)")
    return found


def _venv(name: str, xdist: str, *, plugin: bool) -> Path:
    """A virtualenv in .venvs/ with what xdist's suite needs (its ``testing`` extra:
    filelock; psutil only for its tests marked so, not run by default), at the
    versions installed here; SQLAlchemy and greenlet in both, so that only the plugin
    differs. Made once; brought up to date each run (quick when it is)."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    env = {**os.environ, "UV_COMPILE_BYTECODE": "1"}  # bytecode, as in .venv
    if not python.exists():
        subprocess.run(
            [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)],
            check=True,
            env=env,
        )
    packages = [
        f"pytest=={version('pytest')}",
        f"pytest-xdist=={xdist}",
        f"execnet=={version('execnet')}",
        "filelock",
        f"sqlalchemy=={version('sqlalchemy')}",
        f"greenlet=={version('greenlet')}",
    ]
    if plugin:  # editable: the runs measure this checkout's source as it is now
        packages += ["-e", str(ROOT)]
    subprocess.run(
        [_uv(), "pip", "install", "--quiet", "--python", str(python), *packages],
        check=True,
        env=env,
    )
    return python


def _same_packages(without: Path, with_plugin: Path) -> None:
    """Stops the benchmark unless the two virtualenvs differ by the plugin alone."""
    installed = {}
    for python in (without, with_plugin):
        listed = subprocess.run(
            [_uv(), "pip", "freeze", "--python", str(python)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        plugin = ("pytest-green-light", f"-e {ROOT.as_uri()}")  # as a wheel, editable
        installed[python] = {
            line for line in listed if not line.lower().startswith(plugin)
        }
    if installed[without] != installed[with_plugin]:
        raise SystemExit(
            "xdist_suite: the virtualenvs differ by more than the plugin: "
            f"{sorted(installed[without] ^ installed[with_plugin])}"
        )


def _failed(stdout: str) -> set[str]:
    """Ids of the tests that failed or errored in one run, from its short test summary
    (``-ra``, xdist's pyproject.toml): the last one, as tests print inner runs'."""
    _, _, summary = stdout.rpartition("short test summary info")
    return {found[1] for found in FAILED_LINE.finditer(summary)}


def _failing_note(
    failures: dict[str, Counter[str]], runs: Counter[str]
) -> dict[str, str]:
    """For each side: the tests that failed in every run, those that failed in some
    (with counts on both sides), and those that failed only with the plugin."""
    notes = {}
    every = {
        label: {test for test, n in failed.items() if n == runs[label]}
        for label, failed in failures.items()
    }
    for label, failed in failures.items():
        flaky = sorted(set(failed) - every[label])
        parts = [
            f"{len(every[label])} in every run of {runs[label]}: "
            + ", ".join(sorted(every[label]))
        ]
        if flaky:
            parts.append(
                "some runs: "
                + ", ".join(
                    f"{test} ({failures[WITH][test]}/{runs[WITH]} with, "
                    f"{failures[WITHOUT][test]}/{runs[WITHOUT]} without)"
                    for test in flaky
                )
            )
        if label == WITH:
            only = [
                f"{test} ({KNOWN_FLAKY[test]})" if test in KNOWN_FLAKY else test
                for test in sorted(set(failed) - set(failures[WITHOUT]))
            ]
            parts.append(
                "only with the plugin (never without): "
                + (", ".join(only) if only else "none")
            )
        notes[label] = "; ".join(parts)
    return notes
