"""Serial tests under -n 2 (7): one invocation that isolates them, against the
two-invocation workaround and the ideal schedule."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import suites
from harness import Config, Row, paired_ratio, run_pytest


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
