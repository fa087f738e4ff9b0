"""Setting a database up once per run and copying it to workers (10), on SQLite and,
where scripts/bench started them, PostgreSQL and MariaDB."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import suites
from harness import Config, Row, paired_ratio, run_pytest


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
