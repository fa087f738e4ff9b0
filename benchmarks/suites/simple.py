"""Suites without a database: trivial sync tests, one test, serial tests, logging."""

from __future__ import annotations

from pathlib import Path

from .files import INI, split, write

TRIVIAL_SYNC = """\
def test_{n}():
    assert {n} + 1 > {n}
"""


ONE_TEST = "def test_one():\n    pass\n"

# 400 tests, 10% serial: the serial ones take 20 ms, the others 5 ms.
SERIAL_MIX = """\
import time
import pytest


@pytest.mark.parametrize("n", range(36))
def test_parallel(n):
    time.sleep(0.005)


@pytest.mark.serial
@pytest.mark.parametrize("n", range(4))
def test_serial(n):
    time.sleep(0.02)
"""


# 2000 tests that log and check their records, with pytest's caplog or the plugin's.
LOGGING = """\
import logging
import pytest

log = logging.getLogger("app")


@pytest.mark.parametrize("n", range({count}))
def test_logs(FIXTURE, n):
    FIXTURE.set_level(logging.INFO)
    log.debug("hidden %s", n)
    log.info("item %s", n)
    log.warning("careful %s", n)
    assert FIXTURE.messages == [f"item {{n}}", f"careful {{n}}"]
"""


def trivial_sync(root: Path, count: int) -> Path:
    body = "\n\n".join(TRIVIAL_SYNC.format(n=n) for n in range(count))
    return write(root / "trivial_sync", {"pytest.ini": INI, "test_trivial.py": body})


def one_test(root: Path) -> Path:
    return write(root / "one_test", {"pytest.ini": INI, "test_one.py": ONE_TEST})


def plain_one_test(root: Path) -> Path:
    """One trivial test and a pytest.ini that names no asyncio setting: for a process
    in which nothing reads pytest-asyncio's options or imports asyncio."""
    return write(
        root / "plain_one_test", {"pytest.ini": "[pytest]\n", "test_one.py": ONE_TEST}
    )


def serial_mix(root: Path, *, idle: bool = False) -> Path:
    """The serial mix; ``idle``: the same tests doing no work (pytest's own cost)."""
    text = SERIAL_MIX
    if idle:
        text = text.replace("time.sleep(0.005)", "pass").replace(
            "time.sleep(0.02)", "pass"
        )
    files = {"pytest.ini": INI}
    files.update({f"test_serial_mix_{i}.py": text for i in range(10)})
    return write(root / ("serial_mix_idle" if idle else "serial_mix"), files)


def logging_suite(root: Path, count: int, fixture: str) -> Path:
    files = {"pytest.ini": INI}
    files.update(split("test_logging", LOGGING.replace("FIXTURE", fixture), count))
    return write(root / f"logging_{fixture}", files)
