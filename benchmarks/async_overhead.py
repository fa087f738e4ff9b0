"""Async SQLAlchemy suites, the plugin against pytest-asyncio alone: per-test engines
(2), what one session engine buys over them (3), and what sync IO costs (6)."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import suites
from harness import Config, Row, alternate, compare, paired_ratio


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
        times = alternate(
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
