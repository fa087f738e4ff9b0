"""Log capture on the shared loop (8): caplog_xdist_compatible against caplog."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import suites
from harness import Config, Row, alternate, paired_ratio


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
    times = alternate(runs, rounds * 2)
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
