"""Real-shaped async suites on one session engine, each test in a rolled-back
transaction: the plugin against the best a user can do without it, pytest-asyncio with
both loop-scope defaults set to ``session`` by hand. In wall time with a noise floor
(the baseline run again) and in instructions (valgrind, the same count every run).

9/9b: plain inserts and a count. 11/11b: a parent with children, reloaded, its lazy
relationship read through ``AsyncAttrs.awaitable_attrs``. 12/12b: the same through a
FastAPI app, under an httpx ``ASGITransport`` client made per test."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import suites
from harness import Config, Row, compare, instruction_rows, valgrind_missing

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


# The baseline run again: how far two runs of the same configuration drift apart.
BY_HAND_AGAIN = Config(f"{BY_HAND.label} again (noise floor)", BY_HAND.args)
# The plugin as installed, nothing set: loop scope session, sync IO ``test``.
DEFAULTS = WITH_PLUGIN[0]


def real_suite(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """1000 async SQLAlchemy tests on one session engine (rolled-back transactions):
    the plugin vs pytest-asyncio alone with both loop-scope defaults set to session by
    hand, the best a user can do without it."""
    return compare(
        "9. a real-shaped suite (1000 session-engine tests, -n 0)",
        suites.shared_engine(work, 1000),
        [BY_HAND, *WITH_PLUGIN, BY_HAND_AGAIN],
        rounds,
        BY_HAND.label,
    )


def real_suite_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """The real-shaped suite counted in instructions (valgrind): no noise floor needed."""
    if valgrind_missing():
        return []
    return instruction_rows(
        "9b. a real-shaped suite in instructions (1000 session-engine tests, valgrind)",
        suites.shared_engine(work, 1000),
        [BY_HAND, *WITH_PLUGIN],
        BY_HAND.label,
    )


MODELS = "1000 session-engine tests awaiting awaitable_attrs"


def models_suite(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """1000 tests that each add a parent with children in a rolled-back session, reload
    it and await ``parent.awaitable_attrs.children``: the plugin's defaults vs
    pytest-asyncio alone with both loop scopes session by hand, in wall time (the
    baseline runs twice: the noise floor). Row 9's suite with what real suites also
    do: relationships, read the way SQLAlchemy documents for async code."""
    return compare(
        f"11. lazy relationships ({MODELS}, -n 0)",
        suites.models(work, 1000),
        [BY_HAND, DEFAULTS, BY_HAND_AGAIN],
        rounds,
        BY_HAND.label,
    )


def models_suite_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """Row 11's suite counted in instructions (valgrind, -n 0; a few minutes a run)."""
    if valgrind_missing():
        return []
    return instruction_rows(
        f"11b. lazy relationships in instructions ({MODELS}, valgrind)",
        suites.models(work, 1000),
        [BY_HAND, DEFAULTS],
        BY_HAND.label,
        tests=1000,
    )


FASTAPI = "1000 tests, an httpx ASGITransport client per test, session engine"


def _fastapi_missing() -> bool:
    """True (and says so) when the bench extra (fastapi, httpx) is not installed."""
    missing = [
        name for name in ("fastapi", "httpx") if importlib.util.find_spec(name) is None
    ]
    if missing:
        print(
            f"  skipped: {' and '.join(missing)} not installed "
            "(pip install -e '.[bench]'; scripts/bench installs it)"
        )
    return bool(missing)


def fastapi_suite(work: Path, rounds: int, _: argparse.Namespace) -> list[Row]:
    """1000 tests of a small FastAPI app through an ``httpx.AsyncClient`` on an
    ``ASGITransport``, made per test in a function-scoped async fixture, the app's
    session dependency overridden with the test's rolled-back session; a route commits,
    a route reads the lazy relationship: the plugin's defaults vs pytest-asyncio alone
    with both loop scopes session by hand, in wall time with a noise floor. The shape
    of the suites FastAPI's documentation leads to."""
    if _fastapi_missing():
        return []
    return compare(
        f"12. a FastAPI app ({FASTAPI}, -n 0)",
        suites.fastapi_app(work, 1000),
        [BY_HAND, DEFAULTS, BY_HAND_AGAIN],
        rounds,
        BY_HAND.label,
    )


def fastapi_suite_instructions(
    work: Path, _rounds: int, _: argparse.Namespace
) -> list[Row]:
    """Row 12's suite counted in instructions (valgrind, -n 0; several minutes a run)."""
    if valgrind_missing() or _fastapi_missing():
        return []
    return instruction_rows(
        f"12b. a FastAPI app in instructions ({FASTAPI}, valgrind)",
        suites.fastapi_app(work, 1000),
        [BY_HAND, DEFAULTS],
        BY_HAND.label,
        tests=1000,
    )
