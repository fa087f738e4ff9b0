"""pytest-green-light's benchmarks: what the plugin costs and what it buys.

Run by ``scripts/bench``, which prepares the virtualenvs. Each benchmark runs its
configurations alternately (every other round in reverse order), several rounds, and
reports medians and ratios measured in this one run: the machine is shared and noisy, so absolute times mean little.
Instruction counts (valgrind) are the same every run: their rows need no rounds.

    python benchmarks/run.py [--rounds N] [--only NAME ...] [--gl020-python PATH]

This module is the runner; each family of benchmarks has a module of its own
(sync_overhead, async_overhead, real_suites, process_costs, soak, serial_schedule,
log_capture, database_setup, xdist_suite), harness.py what they share, and suites/
the test suites they run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from async_overhead import async_overhead, session_loop_gain, sync_io_cost
from database_setup import database_setup
from harness import Row
from log_capture import log_capture_cost
from process_costs import no_asyncio_process, worker_startup
from real_suites import (
    fastapi_suite,
    fastapi_suite_instructions,
    models_suite,
    models_suite_instructions,
    real_suite,
    real_suite_instructions,
)
from serial_schedule import serial_schedule
from soak import soak
from sync_overhead import sync_overhead, sync_overhead_instructions
from xdist_suite import xdist_suite

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"

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
    "models_suite": models_suite,
    "models_suite_instructions": models_suite_instructions,
    "fastapi_suite": fastapi_suite,
    "fastapi_suite_instructions": fastapi_suite_instructions,
    "no_asyncio_process": no_asyncio_process,
    "xdist_suite": xdist_suite,
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
