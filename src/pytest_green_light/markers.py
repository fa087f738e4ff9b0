"""The plugin's markers: registration and per-item reading at collection time."""

from __future__ import annotations

import pytest

from pytest_green_light.lifecycle import LOOP_SCOPE_KEY
from pytest_green_light.settings import LOOP_SCOPES

MARKERS = (
    "async_sqlalchemy: the test uses SQLAlchemy's asyncio extension (informational).",
    "green_light(loop_scope=None): per-test pytest-green-light settings; "
    "loop_scope='function' gives the test a fresh event loop of its own.",
)
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
    """Store each ``green_light(loop_scope=...)`` on its item, validated."""
    for item in items:
        # keywords hold marker names up the node chain: a cheap test before the lookup.
        if "green_light" not in item.keywords:
            continue
        marker = item.get_closest_marker("green_light")
        if marker is None:
            continue
        unknown = set(marker.kwargs) - {"loop_scope"}
        if marker.args or unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.green_light takes only the keyword "
                f"argument loop_scope, got {marker.args or ''}{sorted(unknown) or ''}."
            )
        loop_scope = marker.kwargs.get("loop_scope")
        if loop_scope is None:
            continue
        if loop_scope not in LOOP_SCOPES:
            raise pytest.UsageError(
                f"{item.nodeid}: {loop_scope!r} is not a valid loop_scope for "
                f"@pytest.mark.green_light. Valid values are: {', '.join(LOOP_SCOPES)}."
            )
        item.stash[LOOP_SCOPE_KEY] = loop_scope
