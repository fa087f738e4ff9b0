"""Costs per process rather than per test: what the plugin adds to an xdist worker's
start (4), and to a process whose code never imports asyncio (13, 13b)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import suites
from harness import (
    Config,
    Row,
    alternate_runs,
    instructions,
    paired_ratio,
    pytest_env,
    run,
    run_pytest,
    valgrind_missing,
)

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


# Nothing in the process imports asyncio: pytest-asyncio's, anyio's and hypothesis's
# pytest plugins are off (each imports it), and the suite's pytest.ini names no
# pytest-asyncio option.
NO_ASYNCIO = [
    "-n",
    "0",
    "-p",
    "no:asyncio",
    "-p",
    "no:anyio",
    "-p",
    "no:hypothesispytest",
]
NO_ASYNCIO_OFF = Config(
    "off (-p no:green_light)", [*NO_ASYNCIO, "-p", "no:green_light"]
)
NO_ASYNCIO_ON = Config("on", NO_ASYNCIO)
NO_ASYNCIO_AGAIN = Config("off again (noise floor)", NO_ASYNCIO_OFF.args)
NO_ASYNCIO_NAME = "a process that never imports asyncio"


def no_asyncio_process(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """A process whose code never imports asyncio (one trivial test; pytest-asyncio,
    anyio and hypothesis off): the plugin's import and session work, plugin on vs
    ``-p no:green_light``. Counted in instructions (valgrind) and converted to ms at
    the process's own rate (its instructions per ms of CPU time, measured without
    valgrind); and timed, wall and CPU time, over 20 x ``rounds`` alternating rounds
    with "off" run twice for the noise floor. What a sync-only suite pays per process
    (every xdist worker is one), where the goal is 2 ms."""
    suite = suites.plain_one_test(work)
    imports = {
        config.label: _imports_asyncio(suite, config)
        for config in (NO_ASYNCIO_OFF, NO_ASYNCIO_ON)
    }
    if imports[NO_ASYNCIO_OFF.label]:
        raise SystemExit(
            "no_asyncio_process: asyncio is imported without the plugin: "
            "another installed plugin imports it; turn it off with -p no:NAME"
        )
    configs = [NO_ASYNCIO_OFF, NO_ASYNCIO_ON, NO_ASYNCIO_AGAIN]
    # Short runs: many rounds, so that the medians settle below a millisecond or two.
    timed = alternate_runs({c.label: (suite, c) for c in configs}, rounds * 20)
    wall = {label: [r.wall_s for r in runs] for label, runs in timed.items()}
    cpu = {label: [r.cpu_s for r in runs] for label, runs in timed.items()}
    base = NO_ASYNCIO_OFF.label
    rows = []
    for config in configs:
        label = config.label
        wall_ms = statistics.median(wall[label]) * 1000
        cpu_ms = statistics.median(cpu[label]) * 1000
        note = f"CPU {cpu_ms:.1f} ms, wall {wall_ms:.1f} ms (medians)"
        if label != base:
            # Per-round differences: the runs of one round are next to each other.
            wall_diff = statistics.median(
                (a - b) * 1000 for a, b in zip(wall[label], wall[base])
            )
            cpu_diff = statistics.median(
                (a - b) * 1000 for a, b in zip(cpu[label], cpu[base])
            )
            note += (
                f"; vs off, per round: CPU {cpu_diff:+.1f} ms, wall {wall_diff:+.1f} ms"
            )
        if label == NO_ASYNCIO_ON.label:
            note += (
                "; the plugin imported asyncio"
                if imports[label]
                else "; asyncio not imported"
            )
        ratio = paired_ratio(wall[label], wall[base])
        rows.append(
            Row(
                f"13. {NO_ASYNCIO_NAME} (1 test, -n 0, wall and CPU time)",
                label,
                wall_ms / 1000,
                ratio,
                base,
                note,
            )
        )
        print(
            f"  {label:<48} {wall_ms / 1000:8.3f} s  x{ratio:.3f}  {note}", flush=True
        )
    if valgrind_missing():
        return rows
    counts = {
        config.label: instructions(suite, config)
        for config in (NO_ASYNCIO_OFF, NO_ASYNCIO_ON)
    }
    # Instructions per ms of CPU time, each configuration at its own rate.
    rate = {
        label: count / (statistics.median(cpu[label]) * 1000)
        for label, count in counts.items()
    }
    added = counts[NO_ASYNCIO_ON.label] - counts[base]
    for label, count in counts.items():
        note = f"{count / 1e6:.1f} M instructions, {rate[label] / 1e6:.2f} M per CPU ms"
        if label != base:
            note += (
                f"; the plugin {added / 1e6:+.1f} M instructions: "
                f"{added / rate[label]:.1f} ms at this process's rate "
                f"({added / rate[base]:.1f} ms at the rate without it)"
            )
        ratio = count / counts[base]
        rows.append(
            Row(
                f"13b. {NO_ASYNCIO_NAME} in instructions (1 test, -n 0, valgrind)",
                label,
                None,
                ratio,
                base,
                note,
            )
        )
        print(f"  {label:<48} x{ratio:.4f}  {note}", flush=True)
    return rows


def _imports_asyncio(suite: Path, config: Config) -> bool:
    """Whether a run of ``config`` imports asyncio: a run of its own, with Python's
    import-time report on (an environment the counted runs do not have)."""
    done = run(
        suite, Config(config.label, config.args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    )
    return any(
        line.rsplit("|", 1)[-1].strip() == "asyncio"
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    )
