"""Greenlet context: the start-up check, and diagnostics for ``MissingGreenlet``."""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import asyncio

GREENLET_MISSING = """\
pytest-green-light cannot establish greenlet context: {reason}.
SQLAlchemy's asyncio extension (AsyncEngine, AsyncSession) runs on greenlets, so every \
async database test in this session would fail with the same error.
SQLAlchemy 2.1 no longer installs greenlet; install it next to SQLAlchemy: \
pip install greenlet   (or: pip install "sqlalchemy[asyncio]")"""


def require_greenlet_installed() -> None:
    """Fail the run at once where greenlet cannot even be found (the xdist controller).

    Looking greenlet up does not import it: the controller does no greenlet work, but
    it can stop a run whose every worker would fail the same way.
    """
    if importlib.util.find_spec("greenlet") is None:
        raise pytest.UsageError(
            GREENLET_MISSING.format(reason="the greenlet package is not installed")
        )


def verify_greenlet(loop: asyncio.AbstractEventLoop) -> None:
    """Switch into a greenlet from a coroutine on ``loop`` and back, once.

    This is what SQLAlchemy's ``greenlet_spawn`` does for every database call; doing it
    with greenlet itself keeps SQLAlchemy's import (hundreds of milliseconds) out of
    every worker's start-up.
    """
    try:
        import greenlet
    except ImportError as exc:
        raise pytest.UsageError(GREENLET_MISSING.format(reason=exc)) from exc

    async def round_trip() -> bool:
        return bool(greenlet.greenlet(lambda: True).switch())

    try:
        ok = loop.run_until_complete(round_trip())
    except Exception as exc:  # a broken build raises anything
        raise pytest.UsageError(
            GREENLET_MISSING.format(reason=f"switching into a greenlet failed: {exc!r}")
        ) from exc
    if not ok:
        raise pytest.UsageError(
            GREENLET_MISSING.format(reason="a greenlet switch returned no result")
        )


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def missing_greenlet_report(
    error: BaseException, *, loop_scope: str, sync_io: str, driver: str
) -> str:
    """The section added to a report whose test failed with ``MissingGreenlet``.

    When the plugin raised the error itself (application code asked for sync IO), its
    message already names the attribute and the fixes.
    """
    versions = ", ".join(
        f"{name} {_installed(name)}"
        for name in ("sqlalchemy", "greenlet", "pytest-asyncio", "pytest-xdist")
    )
    environment = (
        f"Environment: Python {sys.version.split()[0]}, {versions}; "
        f"pytest-green-light loop scope {loop_scope}, sync IO {sync_io}, "
        f"async tests driven by {driver}."
    )
    if getattr(error, "green_light_diagnosed", False):
        return environment
    return (
        "SQLAlchemy raised MissingGreenlet: code that needs database IO ran outside "
        "greenlet_spawn() (an AsyncSession call that was not awaited, or a lazy load / "
        "expired attribute read in sync code).\n"
        f"{environment}\n"
        "Fixes: load relationships eagerly (selectinload / joinedload), read them with "
        "`await obj.awaitable_attrs.name` (AsyncAttrs), run sync code with "
        "`await session.run_sync(fn)`, or refresh expired objects with "
        "`await session.refresh(obj)`."
    )


def find_missing_greenlet(exc: BaseException) -> BaseException | None:
    """SQLAlchemy's MissingGreenlet in ``exc``, also when wrapped (``StatementError``).

    SQLAlchemy is not imported for this: if it is not loaded, it raised nothing.
    """
    missing = getattr(sys.modules.get("sqlalchemy.exc"), "MissingGreenlet", None)
    if missing is None:
        return None
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, missing):
            found: BaseException = current
            return found
        seen.add(id(current))
        pending += [
            getattr(current, "orig", None),
            current.__cause__,
            current.__context__,
        ]
    return None
