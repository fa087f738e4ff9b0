"""The plugin's markers: registration and per-item reading at collection time."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_green_light.lifecycle import LOOP_SCOPE_KEY
from pytest_green_light.settings import LOOP_SCOPES, SYNC_IO_MODES
from pytest_green_light.sync_io import SYNC_IO_KEY

MARKERS = (
    "serial: never runs while another test runs; under pytest-xdist it runs after all "
    "other tests, one at a time, on one worker (green_light_serial = isolated).",
    "async_sqlalchemy: the test uses SQLAlchemy's asyncio extension (informational).",
    "green_light(loop_scope=None, sync_io=None): per-test pytest-green-light "
    "settings; loop_scope='function' gives the test a fresh event loop of its own, "
    "sync_io='test'|'all'|'off' says where sync code may do database IO.",
)

# The marker's keyword arguments: their valid values and where each is stored.
MARKER_SETTINGS: dict[str, tuple[tuple[str, ...], pytest.StashKey[Any]]] = {
    "loop_scope": (LOOP_SCOPES, LOOP_SCOPE_KEY),
    "sync_io": (SYNC_IO_MODES, SYNC_IO_KEY),
}
ASYNCIO_MARKER = (
    "asyncio: run the coroutine test on an event loop "
    "(handled by pytest-green-light while pytest-asyncio is not installed)."
)


def register_markers(config: pytest.Config, *, asyncio_marker: bool) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if asyncio_marker:
        config.addinivalue_line("markers", ASYNCIO_MARKER)


def read_item_markers(items: list[pytest.Item]) -> None:
    """Store each ``green_light(loop_scope=..., sync_io=...)`` on its item, validated."""
    for item in items:
        # keywords hold marker names up the node chain: a cheap test before the lookup.
        if "green_light" not in item.keywords:
            continue
        marker = item.get_closest_marker("green_light")
        if marker is None:
            continue
        unknown = set(marker.kwargs) - set(MARKER_SETTINGS)
        if marker.args or unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.green_light takes only the keyword "
                f"arguments loop_scope and sync_io, got "
                f"{marker.args or ''}{sorted(unknown) or ''}."
            )
        for name, (valid, key) in MARKER_SETTINGS.items():
            value = marker.kwargs.get(name)
            if value is None:
                continue
            if value not in valid:
                raise pytest.UsageError(
                    f"{item.nodeid}: {value!r} is not a valid {name} for "
                    f"@pytest.mark.green_light. Valid values are: {', '.join(valid)}."
                )
            item.stash[key] = value
