"""What the plugin costs a suite of trivial sync tests: benchmark 1 (wall time, -n 0 and
-n 2, with a noise floor) and 1b (instructions, split into once per run and per test)."""

from __future__ import annotations

import argparse
from pathlib import Path

import suites
from harness import Config, Row, compare, instructions, valgrind_missing


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


def sync_overhead_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """The sync overhead counted in instructions (valgrind, -n 0): 2000 trivial tests
    and 1 test, plugin on vs off, to split the cost into once per run and per test."""
    if valgrind_missing():
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
