"""The plugin's markers: registration, and reading an item's ``green_light`` marker
into its own ``ItemSettings`` at collection; the fixtures the plugin puts first in an
item's own list."""

from __future__ import annotations

import pytest

from pytest_green_light.settings import (
    ITEM_SETTINGS_KEY,
    LOOP_SCOPES,
    SYNC_IO_MODES,
    ItemSettings,
)

MARKERS = (
    "serial: never runs while another test runs; under pytest-xdist it runs after all "
    "other tests, one at a time, on one worker (green_light_serial = isolated).",
    "async_sqlalchemy: the test uses SQLAlchemy's asyncio extension (informational).",
    "green_light(loop_scope=None, sync_io=None): per-test pytest-green-light "
    "settings; loop_scope='function' gives the test a fresh event loop of its own, "
    "sync_io='test'|'all'|'off' says where sync code may do database IO.",
)

OWN_LOOP_FIXTURE = "_green_light_own_loop"
"""Put first in the fixtures of a test with loop scope ``function``."""

# The marker's keyword arguments (ItemSettings' attributes) and their valid values.
MARKER_SETTINGS: dict[str, tuple[str, ...]] = {
    "loop_scope": LOOP_SCOPES,
    "sync_io": SYNC_IO_MODES,
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


def read_item_markers(
    items: list[pytest.Item], session: ItemSettings
) -> list[pytest.Item]:
    """Store each item's ``green_light(loop_scope=..., sync_io=...)`` as its own
    ``ItemSettings`` (the ``session``'s where the marker names none), validated;
    return the items that have the marker.

    An invalid one errors its test at set-up, with the message: raised here, under
    xdist it would end the worker with nothing shown.
    """
    marked = []
    on_parent: dict[int, bool] = {}  # by id: a node's hash is a Python-level call
    for item in items:
        # Asked once per module or class, and of each item's own markers.
        parent = item.parent
        parent_marked = on_parent.get(id(parent))
        if parent_marked is None:
            parent_marked = on_parent[id(parent)] = (
                parent is not None
                and parent.get_closest_marker("green_light") is not None
            )
        if not parent_marked:
            for mark in item.own_markers:
                if mark.name == "green_light":
                    break
            else:
                continue
        marker = item.get_closest_marker("green_light")
        if marker is None:
            continue
        marked.append(item)
        error = _store_settings(item, marker, session)
        if error is not None:
            item.stash[MARKER_ERROR_KEY] = error
            put_fixture_first(item, MARKER_ERROR_FIXTURE)
    return marked


def put_fixture_first(item: pytest.Item, name: str) -> bool:
    """Make fixture ``name`` the first one ``item`` sets up; False for an item without
    fixtures. In a list of the item's own: the items of one parametrized function
    share pytest's."""
    names = getattr(item, "fixturenames", None)
    if names is None:
        return False
    item.fixturenames = [name, *(other for other in names if other != name)]  # type: ignore[attr-defined]
    return True


def _store_settings(
    item: pytest.Item, marker: pytest.Mark, session: ItemSettings
) -> str | None:
    unknown = set(marker.kwargs) - set(MARKER_SETTINGS)
    if marker.args or unknown:
        return (
            "@pytest.mark.green_light takes only the keyword arguments loop_scope "
            f"and sync_io, got {marker.args or ''}{sorted(unknown) or ''}."
        )
    own = ItemSettings(session.loop_scope, session.sync_io)
    for name, valid in MARKER_SETTINGS.items():
        value = marker.kwargs.get(name)
        if value is None:
            continue
        if value not in valid:
            return (
                f"{value!r} is not a valid {name} for @pytest.mark.green_light. "
                f"Valid values are: {', '.join(valid)}."
            )
        setattr(own, name, value)
    item.stash[ITEM_SETTINGS_KEY] = own
    return None
