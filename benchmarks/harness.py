"""What every benchmark family uses: configurations, result rows, running pytest, timing
it (wall and CPU time) and counting its instructions, and comparing configurations."""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Config:
    """One way of running a suite: a Python (virtualenv) and pytest arguments."""

    label: str
    args: Sequence[str]
    python: str = sys.executable
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    benchmark: str
    config: str
    median_s: float | None  # None: not a timing (instruction counts)
    ratio: float | None
    baseline: str
    note: str = ""


@dataclass
class Run:
    """One finished pytest run."""

    wall_s: float
    # User + system time of the pytest process and every process it waited for (xdist
    # workers, pytester's subprocesses): what the run cost the machine.
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str


# pytest's exit codes for a run that ran (some tests may have failed), as opposed to
# an interrupted run, an internal error or a usage error.
TESTS_RAN = (0, 1)


def pytest_command(config: Config) -> list[str]:
    return [config.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *config.args]


def pytest_env(config: Config) -> dict[str, str]:
    env = {**os.environ, **config.env}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    # Bytecode cached as on users' machines: with PYTHONDONTWRITEBYTECODE (set on ours),
    # every run would compile pytest's, the plugins' and the tests' sources again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(suite: Path, config: Config, *, ok: Sequence[int] = (0,)) -> Run:
    """One pytest run, timed; a return code not in ``ok`` is an error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        pytest_command(config),
        cwd=suite,
        env=pytest_env(config),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(
            f"{config.label} failed in {suite}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(elapsed, cpu, done.returncode, done.stdout, done.stderr)


def run_pytest(suite: Path, config: Config) -> float:
    """Wall time of one pytest run."""
    return run(suite, config).wall_s


def pytest_run(suite: Path, config: Config) -> tuple[float, str]:
    """Wall time and last output line of one pytest run; a failing run is an error."""
    done = run(suite, config)
    return done.wall_s, done.stdout.strip().splitlines()[-1]


def compare(
    name: str, suite: Path, configs: list[Config], rounds: int, baseline: str
) -> list[Row]:
    """Run the configurations alternately; medians, and ratios to ``baseline``."""
    times: dict[str, list[float]] = {config.label: [] for config in configs}
    for config in configs:  # warm-up: imports, .pyc files, SQLite files
        run_pytest(suite, config)
    for round_number in range(rounds):
        # Every other round in reverse order, so that neither runs always first.
        ordered = configs if round_number % 2 == 0 else configs[::-1]
        for config in ordered:
            times[config.label].append(run_pytest(suite, config))
    rows = []
    for config in configs:
        median = statistics.median(times[config.label])
        ratio = paired_ratio(times[config.label], times[baseline])
        rows.append(Row(name, config.label, median, ratio, baseline))
        print(f"  {config.label:<48} {median:8.3f} s  x{ratio:.3f}", flush=True)
    return rows


def paired_ratio(samples: list[float], baseline: list[float]) -> float:
    """The median of the per-round ratios: runs of one round are next to each other in
    time, so the machine's drift cancels out of each ratio."""
    return statistics.median(s / b for s, b in zip(samples, baseline))


def alternate(
    runs: dict[str, tuple[Path, Config]], rounds: int
) -> dict[str, list[float]]:
    """Wall times of ``runs`` run alternately (after one warm-up run each)."""
    timed = alternate_runs(runs, rounds)
    return {label: [one.wall_s for one in samples] for label, samples in timed.items()}


def alternate_runs(
    runs: dict[str, tuple[Path, Config]],
    rounds: int,
    *,
    ok: Sequence[int] = (0,),
    on_run: Callable[[str, Run], None] | None = None,
) -> dict[str, list[Run]]:
    """``runs`` run alternately, every other round in reverse order, after one warm-up
    run each (not returned); ``on_run`` sees every run, warm-up runs included."""
    for label, (suite, config) in runs.items():
        warm_up = run(suite, config, ok=ok)
        if on_run:
            on_run(label, warm_up)
    done: dict[str, list[Run]] = {label: [] for label in runs}
    labels = list(runs)
    for round_number in range(rounds):
        for label in labels if round_number % 2 == 0 else labels[::-1]:
            suite, config = runs[label]
            done[label].append(run(suite, config, ok=ok))
            if on_run:
                on_run(label, done[label][-1])
    return done


def valgrind_missing() -> bool:
    """True (and says so) when valgrind, which counts instructions, is not installed."""
    if shutil.which("valgrind") is None:
        print("  skipped: valgrind is not installed (apt install valgrind)")
        return True
    return False


def instructions(suite: Path, config: Config) -> int:
    """Instructions one pytest run executes (valgrind): the same every run, where
    wall time on a shared machine varies by a few per cent."""
    run_pytest(suite, config)  # bytecode cached first, as in the timed runs
    done = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
            *pytest_command(config),
        ],
        cwd=suite,
        env={**pytest_env(config), "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
    )
    counts = re.findall(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not counts:
        raise SystemExit(
            f"{config.label} under valgrind failed:\n{done.stderr[-3000:]}"
        )
    return int(counts[-1])


def instruction_rows(
    name: str,
    suite: Path,
    configs: list[Config],
    baseline: str,
    *,
    tests: int | None = None,
) -> list[Row]:
    """Each configuration's instruction count on ``suite`` and its ratio to
    ``baseline``'s: no rounds and no noise floor, the count is the same every run.
    With ``tests`` (the suite's size), notes give the difference per test too."""
    counts = {config.label: instructions(suite, config) for config in configs}
    rows = []
    for label, count in counts.items():
        ratio = count / counts[baseline]
        note = f"{count / 1e9:.3f} G instructions"
        if tests and label != baseline:
            difference = count - counts[baseline]
            note += (
                f", {difference / 1e6:+.1f} M: {difference / tests / 1e3:+.1f} k per "
                f"test (the baseline: {counts[baseline] / tests / 1e6:.2f} M per test, "
                "start-up included)"
            )
        rows.append(Row(name, label, None, ratio, baseline, note))
        print(f"  {label:<48} x{ratio:.4f}  {note}", flush=True)
    return rows
