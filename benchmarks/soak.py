"""Many tests in one run (5): every report arrives, and workers' memory stays flat."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import suites
from harness import Config, Row, pytest_run


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
