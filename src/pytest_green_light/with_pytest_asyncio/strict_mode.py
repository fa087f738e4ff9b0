"""Help where pytest-asyncio's strict mode left an async test or fixture to pytest.

In strict mode pytest-asyncio runs only async tests marked ``asyncio`` and async
fixtures decorated with ``pytest_asyncio.fixture``; pytest fails the others with a
message that names no way out ("async def functions are not natively supported",
"requested an async fixture ... with no plugin or hook that handled it"), or, before
pytest 8.4, hands the test a coroutine instead of the fixture's value.
"""

from __future__ import annotations

import inspect
import re

import pytest

from pytest_green_light.with_pytest_asyncio.installed import (
    asyncio_mode,
    has_pytest_asyncio,
)

UNHANDLED_TEST = "async def functions are not natively supported"
UNHANDLED_FIXTURE = re.compile(r"requested an async fixture '(?P<name>\w+)'")
AUTO_MODE = "or set asyncio_mode = auto in your ini file."


def _in_strict_mode(config: pytest.Config) -> bool:
    return has_pytest_asyncio(config) and asyncio_mode(config) == "strict"


def _unhandled_fixtures(item: pytest.Item, failure: str) -> list[str]:
    names = [match["name"] for match in UNHANDLED_FIXTURE.finditer(failure)]
    for name, value in getattr(item, "funcargs", {}).items():
        if (inspect.iscoroutine(value) or inspect.isasyncgen(value)) and (
            name not in names
        ):
            names.append(name)
    return names


def unhandled_async_hint(item: pytest.Item, report: pytest.TestReport) -> str | None:
    """What to add, when the failure is strict mode leaving async code to pytest."""
    if not _in_strict_mode(item.config):
        return None
    failure = str(report.longrepr)
    hints = [
        f"{name} is an async fixture, and pytest-asyncio in strict mode runs only "
        "async fixtures decorated for it: decorate it with @pytest_asyncio.fixture "
        f"(with the same arguments) instead of @pytest.fixture, {AUTO_MODE}"
        for name in _unhandled_fixtures(item, failure)
    ]
    if UNHANDLED_TEST in failure:
        hints.append(
            f"{item.name} is an async test, and pytest-asyncio in strict mode runs only "
            "async tests marked for it: add @pytest.mark.asyncio to it (or "
            f"pytestmark = pytest.mark.asyncio to its module), {AUTO_MODE}"
        )
    return "\n".join(hints) or None
