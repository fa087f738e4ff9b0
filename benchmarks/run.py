"""pytest-green-light's benchmarks: what the plugin costs and what it buys.

Run by ``scripts/bench``, which prepares the virtualenvs. Each benchmark runs its
configurations alternately (every other round in reverse order), several rounds, and
reports medians and ratios measured in this one run: the machine is shared and noisy, so absolute times mean little.

    python benchmarks/run.py [--rounds N] [--only NAME ...] [--gl020-python PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import suites

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


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


def run_pytest(suite: Path, config: Config) -> float:
    """Wall time of one pytest run."""
    return pytest_run(suite, config)[0]


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


def pytest_run(suite: Path, config: Config) -> tuple[float, str]:
    """Wall time and last output line of one pytest run; a failing run is an error."""
    start = time.perf_counter()
    done = subprocess.run(
        pytest_command(config),
        cwd=suite,
        env=pytest_env(config),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{config.label} failed in {suite}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return elapsed, done.stdout.strip().splitlines()[-1]


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


# -- the benchmarks ------------------------------------------------------------


def sync_overhead(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """2000 trivial sync tests: plugin on vs off, -n 0 and -n 2, with and without
    pytest-asyncio; "off again" is the noise floor (off against itself)."""
    suite = suites.trivial_sync(work, 2000)
    rows = []
    for dist in (["-n", "0"], ["-n", "2"]):
        for asyncio_args, asyncio_label in (
            (["-p", "no:asyncio"], ""),
            ([], " +pytest-asyncio"),
        ):
            label = f"{' '.join(dist)}{asyncio_label}"
            off_args = [*dist, *asyncio_args, "-p", "no:green_light"]
            off = Config(f"off {label}", off_args)
            rows += compare(
                "1. sync overhead (2000 trivial tests)",
                suite,
                [
                    off,
                    Config(f"on {label}", [*dist, *asyncio_args]),
                    Config(f"off again {label} (noise floor)", off_args),
                ],
                rounds,
                off.label,
            )
    return rows


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


def sync_overhead_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """The sync overhead counted in instructions (valgrind, -n 0): 2000 trivial tests
    and 1 test, plugin on vs off, to split the cost into once per run and per test."""
    if shutil.which("valgrind") is None:
        print("  skipped: valgrind is not installed (apt install valgrind)")
        return []
    many, one = suites.trivial_sync(work, 2000), suites.one_test(work)
    rows = []
    for asyncio_args, asyncio_label in (
        (["-p", "no:asyncio"], ""),
        ([], " +pytest-asyncio"),
    ):
        off = Config(
            f"off -n 0{asyncio_label}",
            ["-n", "0", *asyncio_args, "-p", "no:green_light"],
        )
        on = Config(f"on -n 0{asyncio_label}", ["-n", "0", *asyncio_args])
        counts = {
            (config.label, size): instructions(suite, config)
            for config in (off, on)
            for size, suite in ((2000, many), (1, one))
        }
        once = counts[on.label, 1] - counts[off.label, 1]
        per_test = (counts[on.label, 2000] - counts[off.label, 2000] - once) / 1999
        per_test_off = (counts[off.label, 2000] - counts[off.label, 1]) / 1999
        for config in (off, on):
            ratio = counts[config.label, 2000] / counts[off.label, 2000]
            note = (
                f"{counts[config.label, 2000] / 1e9:.3f} G instructions; once per run "
                f"+{once / 1e6:.1f} M, per test +{per_test / 1e3:.1f} k "
                f"(a test costs {per_test_off / 1e3:.0f} k without the plugin)"
                if config is on
                else f"{counts[config.label, 2000] / 1e9:.3f} G instructions"
            )
            rows.append(
                Row(
                    "1b. sync overhead in instructions (2000 trivial tests, valgrind)",
                    config.label,
                    None,
                    ratio,
                    off.label,
                    note,
                )
            )
            print(f"  {config.label:<48} x{ratio:.4f}  {note}", flush=True)
    return rows


BY_HAND = Config(
    "pytest-asyncio alone, loop scopes session by hand",
    [
        *("-n", "0", "-p", "no:green_light"),
        *("-o", "asyncio_default_fixture_loop_scope=session"),
        *("-o", "asyncio_default_test_loop_scope=session"),
    ],
)
WITH_PLUGIN = [
    Config("pytest-green-light 1.0", ["-n", "0"]),
    Config(
        "pytest-green-light 1.0, sync IO off", ["-n", "0", "--green-light-sync-io=off"]
    ),
]


def real_suite(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """1000 async SQLAlchemy tests on one session engine (rolled-back transactions):
    the plugin vs pytest-asyncio alone with both loop-scope defaults set to session by
    hand, the best a user can do without it."""
    configs = [
        BY_HAND,
        *WITH_PLUGIN,
        Config(f"{BY_HAND.label} again (noise floor)", BY_HAND.args),
    ]
    return compare(
        "9. a real-shaped suite (1000 session-engine tests, -n 0)",
        suites.shared_engine(work, 1000),
        configs,
        rounds,
        BY_HAND.label,
    )


def real_suite_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """The real-shaped suite counted in instructions (valgrind): no noise floor needed."""
    if shutil.which("valgrind") is None:
        print("  skipped: valgrind is not installed (apt install valgrind)")
        return []
    suite = suites.shared_engine(work, 1000)
    counts = {
        config.label: instructions(suite, config) for config in [BY_HAND, *WITH_PLUGIN]
    }
    rows = []
    for label, count in counts.items():
        ratio = count / counts[BY_HAND.label]
        note = f"{count / 1e9:.3f} G instructions"
        rows.append(
            Row(
                "9b. a real-shaped suite in instructions (1000 session-engine tests, valgrind)",
                label,
                None,
                ratio,
                BY_HAND.label,
                note,
            )
        )
        print(f"  {label:<48} x{ratio:.4f}  {note}", flush=True)
    return rows


def async_overhead(work: Path, rounds: int, args: argparse.Namespace) -> list[Row]:
    """1000 async SQLAlchemy tests, each with its own engine: plugin vs bare
    pytest-asyncio vs pytest-green-light 0.2.0."""
    suite = suites.per_test_engine(work, 1000)
    bare = Config("pytest-asyncio alone", ["-n", "0", "-p", "no:green_light"])
    configs = [bare, Config("pytest-green-light 1.0", ["-n", "0"])]
    if args.gl020_python:
        configs.append(
            Config("pytest-green-light 0.2.0", ["-n", "0"], python=args.gl020_python)
        )
    return compare(
        "2. async overhead (1000 per-test-engine tests)",
        suite,
        configs,
        rounds,
        bare.label,
    )


def session_loop_gain(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """The same 1000 tests on one session engine per worker (rolled-back transactions)
    vs per-test engines on pytest-asyncio's function loops."""
    per_test = suites.per_test_engine(work, 1000)
    shared = suites.shared_engine(work, 1000)
    rows = []
    for dist in ("0", "2"):
        function_loops = Config(
            f"per-test engines, function loops -n {dist}",
            [
                "-n",
                dist,
                "-p",
                "no:green_light",
                "-o",
                "asyncio_default_fixture_loop_scope=function",
            ],
        )
        session_loop = Config(
            f"session engine, --green-light-loop-scope=session -n {dist}",
            ["-n", dist, "--green-light-loop-scope=session"],
        )
        times = _alternate(
            {
                function_loops.label: (per_test, function_loops),
                session_loop.label: (shared, session_loop),
            },
            rounds,
        )
        for label, samples in times.items():
            median = statistics.median(samples)
            ratio = paired_ratio(samples, times[function_loops.label])
            rows.append(
                Row(
                    "3. what the session loop buys (1000 tests)",
                    label,
                    median,
                    ratio,
                    function_loops.label,
                )
            )
            print(f"  {label:<48} {median:8.3f} s  x{ratio:.3f}", flush=True)
    return rows


def _alternate(
    runs: dict[str, tuple[Path, Config]], rounds: int
) -> dict[str, list[float]]:
    for suite, config in runs.values():
        run_pytest(suite, config)
    times: dict[str, list[float]] = {label: [] for label in runs}
    labels = list(runs)
    for round_number in range(rounds):
        for label in labels if round_number % 2 == 0 else labels[::-1]:
            suite, config = runs[label]
            times[label].append(run_pytest(suite, config))
    return times


STARTUP_PROBE = """
import json, os, time
import pytest

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionstart(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_STARTUP_FILE"], "a") as out:
            out.write(json.dumps({
                "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                "sessionstart_s": time.perf_counter() - start,
            }) + "\\n")
"""


def worker_startup(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """What the plugin adds to each xdist worker's start: the wall time of a 1-test
    suite with -n 2, and each worker's pytest_sessionstart (loop creation and the
    greenlet round trip) timed inside the worker."""
    suite = suites.one_test(work)
    (suite / "startup_probe.py").write_text(STARTUP_PROBE)
    probe_file = work / "startup.jsonl"
    env = {"BENCH_STARTUP_FILE": str(probe_file), "PYTHONPATH": str(suite)}
    off = Config(
        "off -n 2",
        ["-n", "2", "-p", "startup_probe", "-p", "no:asyncio", "-p", "no:green_light"],
        env=env,
    )
    on = Config(
        "on -n 2", ["-n", "2", "-p", "startup_probe", "-p", "no:asyncio"], env=env
    )
    sessionstart: dict[str, list[float]] = {off.label: [], on.label: []}
    wall: dict[str, list[float]] = {off.label: [], on.label: []}
    for _ in range(rounds * 3):
        for config in (off, on):
            probe_file.unlink(missing_ok=True)
            wall[config.label].append(run_pytest(suite, config))
            lines = [json.loads(line) for line in probe_file.read_text().splitlines()]
            sessionstart[config.label] += [
                line["sessionstart_s"]
                for line in lines
                if line["worker"]  # not the controller
            ]
    rows = []
    for label in (off.label, on.label):
        wall_median = statistics.median(wall[label])
        start_median = statistics.median(sessionstart[label]) * 1000
        rows.append(
            Row(
                "4. worker start-up (1 test, -n 2)",
                label,
                wall_median,
                wall_median / statistics.median(wall[off.label]),
                off.label,
                f"pytest_sessionstart per process: {start_median:.2f} ms (median)",
            )
        )
        print(
            f"  {label:<48} {wall_median:8.3f} s  sessionstart {start_median:.2f} ms",
            flush=True,
        )
    added = (
        statistics.median(sessionstart[on.label])
        - statistics.median(sessionstart[off.label])
    ) * 1000
    rows[-1].note += (
        f"; the plugin adds {added:.2f} ms to it; importing what a worker imports of "
        f"the plugin: {_worker_import_ms(asyncio_first=True):.1f} ms with asyncio "
        f"imported already (as pytest-asyncio does), "
        f"{_worker_import_ms(asyncio_first=False):.1f} ms with asyncio"
    )
    return rows


# What a worker imports of the plugin: the plugin module, then in pytest_configure the
# worker loop and the runner (without pytest-asyncio; with it, the loop policy).
WORKER_MODULES = (
    "pytest_green_light.plugin",
    "pytest_green_light.worker_loop.lifecycle",
    "pytest_green_light.sync_io.greenlet_bridge",
    "pytest_green_light.async_runner",
)


def _worker_import_ms(*, asyncio_first: bool, rounds: int = 11) -> float:
    """Median time to import ``WORKER_MODULES`` in a process that has imported pytest
    (and asyncio, if ``asyncio_first``), from cached bytecode."""
    code = "\n".join(
        [
            "import importlib, time, pytest, _pytest.python",
            "import asyncio" if asyncio_first else "",
            "start = time.perf_counter()",
            *(f"importlib.import_module({name!r})" for name in WORKER_MODULES),
            "print(time.perf_counter() - start)",
        ]
    )
    env = pytest_env(Config("import", []))
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(rounds + 1)  # the first writes the bytecode
    ]
    return statistics.median(times[1:]) * 1000


def soak(work: Path, _rounds: int, _: argparse.Namespace) -> list[Row]:
    """10,000 mixed tests with -n 2: every report arrives; each worker's peak RSS grows
    by less than 20 MB from its 1000th test to its last."""
    suite = suites.soak(work, 10_000)
    rss_file = work / "rss.jsonl"
    rss_file.unlink(missing_ok=True)
    config = Config(
        "on -n 2",
        ["-n", "2", "-p", "no:warnings", "-rN"],
        env={"BENCH_RSS_FILE": str(rss_file)},
    )
    elapsed, summary = pytest_run(suite, config)
    records = [json.loads(line) for line in rss_file.read_text().splitlines()]
    growth = []
    # The controller (master) runs the probe too, but keeps every report: not a worker.
    for worker in sorted({r["worker"] for r in records} - {"master"}):
        mine = {r["when"]: r for r in records if r["worker"] == worker}
        grew_mb = (mine["at_end"]["peak_kb"] - mine["after_1000"]["peak_kb"]) / 1024
        growth.append(
            f"{worker}: {mine['after_1000']['peak_kb'] / 1024:.0f} MB after 1000 tests, "
            f"+{grew_mb:.1f} MB by its last ({mine['at_end']['tests']} tests)"
        )
    note = f"{summary}; " + "; ".join(growth)
    print(f"  {note}", flush=True)
    return [
        Row("5. soak (10,000 mixed tests, -n 2)", config.label, elapsed, None, "", note)
    ]


def sync_io_cost(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """1000 async SQLAlchemy tests on a session engine, sync_io = test (the default) vs
    off: what running test tasks in sync-IO greenlets costs. The cost is near this
    machine's noise, so ``off`` runs twice: the second row is the noise floor."""
    suite = suites.shared_engine(work, 1000)
    off = Config("sync_io=off", ["-n", "0", "--green-light-sync-io=off"])
    again = Config("sync_io=off again (noise floor)", off.args)
    on = Config("sync_io=test", ["-n", "0", "--green-light-sync-io=test"])
    return compare(
        "6. sync IO cost (1000 async SQLAlchemy tests, -n 0)",
        suite,
        [off, again, on],
        rounds * 3,
        off.label,
    )


def serial_schedule(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """400 tests, 10% serial (20 ms each, the rest 5 ms), -n 2: one invocation with
    serial tests isolated, vs the two-invocation workaround, vs the ideal schedule
    (one start-up + parallel work / 2 + serial work)."""
    suite = suites.serial_mix(work)
    idle_suite = suites.serial_mix(work, idle=True)
    start_up_suite = suites.one_test(work)
    one = Config("one invocation: pytest -n 2", ["-n", "2", "-p", "no:asyncio"])
    parallel_part = Config(
        "pytest -n 2 -m 'not serial'",
        ["-n", "2", "-p", "no:asyncio", "-m", "not serial"],
    )
    serial_part = Config("pytest -m serial", ["-p", "no:asyncio", "-m", "serial"])
    start_up = Config("start-up: 1 test, -n 2", ["-n", "2", "-p", "no:asyncio"])
    parallel_work, serial_work = 360 * 0.005, 40 * 0.020
    samples: dict[str, list[float]] = {"one": [], "two": [], "ideal": [], "idle": []}
    for config in (one, parallel_part, serial_part):  # warm-up
        run_pytest(suite, config)
    for _ in range(rounds):
        samples["one"].append(run_pytest(suite, one))
        samples["two"].append(
            run_pytest(suite, parallel_part) + run_pytest(suite, serial_part)
        )
        start_up_s = run_pytest(start_up_suite, start_up)
        samples["ideal"].append(start_up_s + parallel_work / 2 + serial_work)
        # What pytest itself costs for 400 tests, in any schedule: idle run - start-up.
        samples["idle"].append(
            samples["ideal"][-1] + run_pytest(idle_suite, one) - start_up_s
        )
    labels = {
        "one": "one invocation, serial tests isolated (pytest -n 2)",
        "two": "workaround: pytest -n 2 -m 'not serial'; pytest -m serial",
        "ideal": "ideal: one -n 2 start-up + parallel work / 2 + serial work",
        "idle": "ideal + pytest's own per-test cost (the 400 tests doing no work)",
    }
    rows = []
    for key in ("ideal", "idle", "one", "two"):
        median = statistics.median(samples[key])
        ratio = paired_ratio(samples[key], samples["ideal"])
        rows.append(
            Row(
                "7. serial tests (400 tests, 10% serial, -n 2)",
                labels[key],
                median,
                ratio,
                labels["ideal"],
            )
        )
        print(f"  {labels[key]:<60} {median:8.3f} s  x{ratio:.3f}", flush=True)
    return rows


def log_capture_cost(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """2000 tests that log and check their records: caplog_xdist_compatible vs
    pytest's caplog (run twice: the second row is the noise floor)."""
    args = ["-n", "0", "-p", "no:asyncio"]
    runs = {
        "caplog": (suites.logging_suite(work, 2000, "caplog"), Config("caplog", args)),
        "caplog again (noise floor)": (
            suites.logging_suite(work, 2000, "caplog"),
            Config("caplog again", args),
        ),
        "caplog_xdist_compatible": (
            suites.logging_suite(work, 2000, "caplog_xdist_compatible"),
            Config("caplog_xdist_compatible", args),
        ),
    }
    times = _alternate(runs, rounds * 2)
    rows = []
    for label, samples in times.items():
        median = statistics.median(samples)
        ratio = paired_ratio(samples, times["caplog"])
        rows.append(
            Row(
                "8. log capture (2000 logging tests, -n 0)",
                label,
                median,
                ratio,
                "caplog",
            )
        )
        print(f"  {label:<48} {median:8.3f} s  x{ratio:.3f}", flush=True)
    return rows


def database_setup(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """200 tests on a database whose set-up costs about a second (200 tables of 50
    rows): time to the first test and whole-run time, for the set-up per worker (as
    before 1.0), once per run and copied, a reuse run, and no set-up at all."""
    suite = suites.database_suite(work, 20)
    # A database name per way: a run without reuse drops the template a reuse run kept.
    servers = {"SQLite": f"sqlite+aiosqlite:///{work}/{{name}}.db"}
    for backend, variable in [
        ("PostgreSQL", "GREEN_LIGHT_TEST_PG_URL"),
        ("MariaDB", "GREEN_LIGHT_TEST_MYSQL_URL"),
    ]:
        if os.environ.get(variable):
            servers[backend] = os.environ[variable].rsplit("/", 1)[0] + "/{name}"
    ways = [
        ("(a) set-up per worker (session fixture)", "fixture", ()),
        ("(b) once per run, copied", "hook", ()),
        ("(c) reuse run", "hook", ("--green-light-reuse-db",)),
        ("(d) no set-up at all", "none", ()),
    ]
    first_test = work / "first_test"
    rows = []
    for backend, url in servers.items():
        for workers in ("2", "4"):
            name = f"10. database set-up ({backend}, 200 tests, -n {workers})"
            configs = [
                Config(
                    label,
                    (
                        "-p",
                        "no:asyncio",
                        "-n",
                        workers,
                        f"--green-light-db-url={url.format(name=f'bench_{index}')}",
                        *extra,
                    ),
                    env={"BENCH_SETUP": setup, "BENCH_FIRST_TEST": str(first_test)},
                )
                for index, (label, setup, extra) in enumerate(ways)
            ]
            seconds: dict[str, list[float]] = {c.label: [] for c in configs}
            to_first: dict[str, list[float]] = {c.label: [] for c in configs}
            for round_number in range(rounds + 1):  # round 0: the warm-up
                ordered = configs if round_number % 2 == 0 else configs[::-1]
                for config in ordered:
                    first_test.unlink(missing_ok=True)
                    started = time.time()
                    elapsed = run_pytest(suite, config)
                    first = min(map(float, first_test.read_text().split())) - started
                    if round_number:
                        seconds[config.label].append(elapsed)
                        to_first[config.label].append(first)
            baseline = ways[-1][0]
            for config in configs:
                label = config.label
                median = statistics.median(seconds[label])
                ratio = paired_ratio(seconds[label], seconds[baseline])
                first = statistics.median(to_first[label])
                rows.append(
                    Row(
                        name,
                        label,
                        median,
                        ratio,
                        baseline,
                        f"first test at {first:.2f} s",
                    )
                )
                print(
                    f"  {name} {label:<42} {median:7.3f} s  x{ratio:.3f}  "
                    f"first test at {first:.2f} s",
                    flush=True,
                )
    return rows


BENCHMARKS: dict[str, Callable[[Path, int, argparse.Namespace], list[Row]]] = {
    "sync_overhead": sync_overhead,
    "sync_overhead_instructions": sync_overhead_instructions,
    "async_overhead": async_overhead,
    "session_loop_gain": session_loop_gain,
    "worker_startup": worker_startup,
    "soak": soak,
    "sync_io_cost": sync_io_cost,
    "serial_schedule": serial_schedule,
    "log_capture_cost": log_capture_cost,
    "real_suite": real_suite,
    "real_suite_instructions": real_suite_instructions,
    "database_setup": database_setup,
}


TABLE_HEADER = (
    "| benchmark | configuration | median (s) | ratio | baseline | note | measured |"
)


def _earlier_rows(replaced: set[str]) -> list[str]:
    """Table lines of RESULTS.md for benchmarks not rerun now (``--only`` runs)."""
    if not RESULTS.exists():
        return []
    lines = RESULTS.read_text().splitlines()
    if TABLE_HEADER not in lines:
        return []
    table = lines[lines.index(TABLE_HEADER) + 2 :]
    return [
        line
        for line in table
        if line.startswith("| ") and line.split(" | ")[0][2:] not in replaced
    ]


def write_results(rows: list[Row], rounds: int) -> None:
    today = datetime.date.today().isoformat()
    kept = _earlier_rows({row.benchmark for row in rows})
    lines = [
        "# Benchmark results",
        "",
        f"Last run {today} by `scripts/bench` on "
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, pytest {version('pytest')}, "
        f"pytest-asyncio {version('pytest-asyncio')}, pytest-xdist {version('pytest-xdist')}, "
        f"SQLAlchemy {version('sqlalchemy')}.",
        "",
        f"Medians of {rounds} alternating rounds after one warm-up run each; a ratio is "
        "the median of the per-round ratios to the baseline of the same benchmark. "
        "The machine is shared and "
        "noisy: read the ratios, not the seconds. A run of some benchmarks (`--only`) "
        "keeps the other rows, with the date they were measured.",
        "",
        TABLE_HEADER,
        "| --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    new = []
    for row in rows:
        ratio = f"{row.ratio:.3f}" if row.ratio is not None else ""
        median = f"{row.median_s:.3f}" if row.median_s is not None else ""
        new.append(
            f"| {row.benchmark} | {row.config} | {median} | {ratio} "
            f"| {row.baseline} | {row.note} | {today} |"
        )
    lines += sorted(kept + new, key=lambda line: line.split(" | ")[0])
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS))
    parser.add_argument(
        "--gl020-python", help="a Python with pytest-green-light 0.2.0 installed"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="green-light-bench-") as tmp:
        for name, benchmark in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            print(
                f"{name}: {benchmark.__doc__.splitlines()[0] if benchmark.__doc__ else ''}",
                flush=True,
            )
            rows += benchmark(Path(tmp) / name, args.rounds, args)
    write_results(rows, args.rounds)


if __name__ == "__main__":
    main()
