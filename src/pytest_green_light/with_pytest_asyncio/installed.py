"""Which pytest-asyncio is installed, whether it is on, and in which mode."""

from __future__ import annotations

import functools
import re

import pytest

# Before 0.24 pytest-asyncio has no loop_scope for fixtures.
OLDEST_PYTEST_ASYNCIO = (0, 24)
UNSUPPORTED_PYTEST_ASYNCIO = (
    "pytest-green-light needs pytest-asyncio {oldest} or later, and pytest-asyncio "
    "{found} is installed. Upgrade it (pip install 'pytest-asyncio>={oldest}'), or run "
    "without pytest-green-light: -p no:green_light."
)


def has_pytest_asyncio(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("asyncio")


def pytest_asyncio_release() -> str:
    """The installed pytest-asyncio's version: its ``__version__``, which it has
    imported already (reading a distribution's metadata costs a few million
    instructions)."""
    import pytest_asyncio

    return str(pytest_asyncio.__version__)


@functools.cache
def pytest_asyncio_version() -> tuple[int, ...]:
    """The installed pytest-asyncio's (major, minor)."""
    return tuple(int(part) for part in re.findall(r"\d+", pytest_asyncio_release())[:2])


def require_supported_pytest_asyncio() -> None:
    if pytest_asyncio_version() < OLDEST_PYTEST_ASYNCIO:
        raise pytest.UsageError(
            UNSUPPORTED_PYTEST_ASYNCIO.format(
                found=pytest_asyncio_release(),
                oldest=".".join(map(str, OLDEST_PYTEST_ASYNCIO)),
            )
        )


def asyncio_mode(config: pytest.Config) -> str:
    """pytest-asyncio's mode: the command line's, else the ini file's."""
    return str(config.getoption("asyncio_mode", None) or config.getini("asyncio_mode"))
