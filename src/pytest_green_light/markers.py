"""The plugin's markers: registration, per-item reading at collection time, and the
fixtures the plugin puts first in an item's own list."""

from __future__ import annotations

import inspect
import types
from typing import Any

import pytest

from pytest_green_light.settings import (
    LOOP_SCOPES,
    SYNC_IO_MODES,
    LoopScope,
    SyncIOMode,
)

MARKERS = (
    "serial: never runs while another test runs; under pytest-xdist it runs after all "
    "other tests, one at a time, on one worker (green_light_serial = isolated).",
    "async_sqlalchemy: the test uses SQLAlchemy's asyncio extension (informational).",
    "green_light(loop_scope=None, sync_io=None): per-test pytest-green-light "
    "settings; loop_scope='function' gives the test a fresh event loop of its own, "
    "sync_io='test'|'all'|'off' says where sync code may do database IO.",
)

LOOP_SCOPE_KEY = pytest.StashKey[LoopScope]()
"""Set on items whose ``green_light`` marker names a ``loop_scope``."""
SYNC_IO_KEY = pytest.StashKey[SyncIOMode]()
"""Set on items whose ``green_light`` marker names ``sync_io``."""
OWN_LOOP_FIXTURE = "_green_light_own_loop"
"""Put first in the fixtures of a test with loop scope ``function``."""

# The marker's keyword arguments: their valid values and where each is stored.
MARKER_SETTINGS: dict[str, tuple[tuple[str, ...], pytest.StashKey[Any]]] = {
    "loop_scope": (LOOP_SCOPES, LOOP_SCOPE_KEY),
    "sync_io": (SYNC_IO_MODES, SYNC_IO_KEY),
}
MARKER_ERROR_KEY = pytest.StashKey[str]()
"""What is wrong with an item's ``green_light`` marker."""
MARKER_ERROR_FIXTURE = "_green_light_marker_error"

ASYNCIO_MARKER = (
    "asyncio: run the coroutine test on an event loop "
    "(handled by pytest-green-light while pytest-asyncio is not installed)."
)


def register_markers(config: pytest.Config, *, asyncio_marker: bool) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if asyncio_marker:
        config.addinivalue_line("markers", ASYNCIO_MARKER)


def read_item_markers(items: list[pytest.Item]) -> list[pytest.Item]:
    """Store each ``green_light(loop_scope=..., sync_io=...)`` on its item, validated;
    return the items that have one.

    An invalid one errors its test at set-up, with the message: raised here, under
    xdist it would end the worker with nothing shown.
    """
    marked = []
    for item in items:
        # keywords hold marker names up the node chain: a cheap test before the lookup.
        if "green_light" not in item.keywords:
            continue
        marker = item.get_closest_marker("green_light")
        if marker is None:
            continue
        marked.append(item)
        error = _store_settings(item, marker)
        if error is not None:
            item.stash[MARKER_ERROR_KEY] = error
            put_fixture_first(item, MARKER_ERROR_FIXTURE)
    return marked


def is_coroutine_test(item: pytest.Item) -> bool:
    """Whether the item's function is a coroutine function: an async test."""
    function = getattr(item, "obj", None)
    if type(function) is types.FunctionType:  # the common case, asked cheaply
        return bool(function.__code__.co_flags & inspect.CO_COROUTINE)
    return inspect.iscoroutinefunction(function)


def put_fixture_first(item: pytest.Item, name: str) -> bool:
    """Make fixture ``name`` the first one ``item`` sets up; False for an item without
    fixtures. In a list of the item's own: the items of one parametrized function
    share pytest's."""
    names = getattr(item, "fixturenames", None)
    if names is None:
        return False
    item.fixturenames = [name, *(other for other in names if other != name)]  # type: ignore[attr-defined]
    return True


def _store_settings(item: pytest.Item, marker: pytest.Mark) -> str | None:
    unknown = set(marker.kwargs) - set(MARKER_SETTINGS)
    if marker.args or unknown:
        return (
            "@pytest.mark.green_light takes only the keyword arguments loop_scope "
            f"and sync_io, got {marker.args or ''}{sorted(unknown) or ''}."
        )
    for name, (valid, key) in MARKER_SETTINGS.items():
        value = marker.kwargs.get(name)
        if value is None:
            continue
        if value not in valid:
            return (
                f"{value!r} is not a valid {name} for @pytest.mark.green_light. "
                f"Valid values are: {', '.join(valid)}."
            )
        item.stash[key] = value
    return None
