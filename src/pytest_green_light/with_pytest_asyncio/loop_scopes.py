"""pytest-asyncio's loop scopes lined up with the plugin's ``loop_scope``.

At configure time its two ini defaults are taken to be what the plugin's loop scope
needs (what the user set differently is kept for the report header); at collection,
markers give each test the loop its fixtures are on.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from pytest_green_light import upstream
from pytest_green_light.settings import (
    ITEM_SETTINGS_KEY,
    SETTINGS_KEY,
    ItemSettings,
    LoopScope,
    item_settings,
)
from pytest_green_light.with_pytest_asyncio.installed import (
    asyncio_mode,
    has_pytest_asyncio,
    pytest_asyncio_release,
    pytest_asyncio_version,
)

FIXTURE_LOOP_SCOPE_INI = "asyncio_default_fixture_loop_scope"
TEST_LOOP_SCOPE_INI = "asyncio_default_test_loop_scope"
LOOP_SCOPE_INI = (FIXTURE_LOOP_SCOPE_INI, TEST_LOOP_SCOPE_INI)
# pytest-asyncio 1.5 lets the fixture default say "each fixture's own scope".
FIXTURE_SCOPE_VALUE_SINCE = (1, 5)

OVERRIDDEN_LOOP_SCOPES_KEY = pytest.StashKey[dict[str, str]]()
"""The user's pytest-asyncio loop-scope defaults the plugin replaced, each as
``name = value (where it is set)``, for the report header."""


def _has_ini(config: pytest.Config, name: str) -> bool:
    """Whether the installed pytest-asyncio knows the ini key (the test default came in
    0.26)."""
    try:
        config.getini(name)
    except ValueError:
        return False
    return True


def _loop_scope_defaults(
    config: pytest.Config, loop_scope: LoopScope
) -> dict[str, str | None]:
    """What pytest-asyncio's two defaults are taken to be under ``loop_scope`` (None:
    unset).

    ``session``: both, so that no fixture runs on a per-test loop while its test runs on
    the worker loop (a pair pytest-asyncio never runs by itself). ``function``: tests on
    their own loops, and each fixture on the loop of its own scope, which pytest-asyncio
    1.5 has a value for and earlier versions take from an unset fixture default.
    """
    if loop_scope == "session":
        defaults: dict[str, str | None] = dict.fromkeys(LOOP_SCOPE_INI, "session")
    else:
        defaults = {
            TEST_LOOP_SCOPE_INI: "function",
            FIXTURE_LOOP_SCOPE_INI: "fixture-scope"
            if pytest_asyncio_version() >= FIXTURE_SCOPE_VALUE_SINCE
            else None,
        }
    return {name: value for name, value in defaults.items() if _has_ini(config, name)}


def line_up_loop_scopes(config: pytest.Config, loop_scope: LoopScope) -> None:
    """Make pytest-asyncio's loop-scope defaults follow ``loop_scope``, whatever the ini
    file says; what the user set differently is kept for the report header.

    Runs before pytest-asyncio's ``pytest_configure`` reads them. A default to unset
    holds a placeholder until ``unset_loop_scope_defaults``: unset in
    ``pytest_configure``, pytest-asyncio would warn the user that it is unset.
    """
    overridden: dict[str, str] = {}
    for name, value in _loop_scope_defaults(config, loop_scope).items():
        source = upstream.ini_value_source(config, name)
        if source is not None and config.getini(name) != value:
            overridden[name] = f"{name} = {config.getini(name)} ({source})"
        if _given_by_marker(name, value):
            continue
        # The placeholder: any valid scope, read by nobody but that check.
        upstream.set_ini_value(config, name, "function" if value is None else value)
    config.stash[OVERRIDDEN_LOOP_SCOPES_KEY] = overridden


def unset_loop_scope_defaults(config: pytest.Config, loop_scope: LoopScope) -> None:
    """Unset the defaults ``loop_scope`` wants unset, once pytest-asyncio's
    ``pytest_configure`` has read them."""
    for name, value in _loop_scope_defaults(config, loop_scope).items():
        if value is None:
            upstream.set_ini_value(config, name, None)


def tests_marked_for_the_session_loop() -> bool:
    """Before 1.0 the session loop is given to tests by marker, not by the default:
    0.24 and 0.25 have no test default, and in 0.26 a session default makes every test
    that requests ``event_loop`` an error at collection."""
    return pytest_asyncio_version() < (1, 0)


def _given_by_marker(name: str, value: str | None) -> bool:
    """Whether the session loop the test default would give is given by marker
    instead (``mark_tests_for_the_session_loop``)."""
    return (
        value == "session"
        and name == TEST_LOOP_SCOPE_INI
        and tests_marked_for_the_session_loop()
    )


def describe_driver(config: pytest.Config) -> str:
    """What drives async tests, for the report header and error messages."""
    if not has_pytest_asyncio(config):
        return "green-light"
    return f"pytest-asyncio {pytest_asyncio_release()} ({asyncio_mode(config)} mode)"


def describe_anyio_tests(config: pytest.Config) -> str:
    """Who runs anyio's tests, for the header, when anyio's plugin is loaded."""
    if not config.pluginmanager.has_plugin("anyio"):
        return ""
    if has_pytest_asyncio(config) and asyncio_mode(config) == "auto":
        # Its auto mode takes every coroutine test, anyio's too, before anyio does.
        return "; anyio tests: by pytest-asyncio (auto mode)"
    # anyio's runner closes its loop, cancelling every task on it, after each test:
    # it cannot be given the worker loop (docs/loop-scope.md#anyio).
    return "; anyio tests: their own loops"


def describe_lined_up_loop_scopes(config: pytest.Config) -> str:
    """What ``line_up_loop_scopes`` did to pytest-asyncio's defaults, and why, in the
    words of the report header (pytest-asyncio's own line shows the values it got)."""
    settings = config.stash[SETTINGS_KEY]
    scope = settings.loop_scope
    done = []
    for name, value in _loop_scope_defaults(config, scope).items():
        if _given_by_marker(name, value):
            continue
        done.append(f"{name} unset" if value is None else f"{name} = {value}")
    if scope == "session" and tests_marked_for_the_session_loop():
        done.append('async tests marked loop_scope="session"')
    effect = (
        "async tests and fixtures that name no loop scope share the worker loop"
        if scope == "session"
        else "each async test gets a loop of its own and each async fixture the loop "
        "of its own scope"
    )
    line = (
        f"green-light: for loop scope {scope} ({settings.sources['loop_scope']}), "
        f"pytest-asyncio gets {' and '.join(done)}, so that {effect}."
    )
    overridden = config.stash.get(OVERRIDDEN_LOOP_SCOPES_KEY, {})
    if overridden:
        line += f" This replaces your {', '.join(overridden.values())}."
    if scope == "session":
        line += " For per-test loops: green_light_loop_scope = function."
    return line


def line_up_test_markers(
    items: list[pytest.Item],
    marked: list[pytest.Item],
    session: ItemSettings,
    *,
    autouse: bool,
) -> None:
    """pytest-asyncio reads a test's loop from its closest ``asyncio`` marker: make it
    the one the plugin's loop scope gives (``marked``: the items with a ``green_light``
    marker, already read into their own settings; ``autouse``: the plugin is not
    inert, so the session loop is the worker loop)."""
    if session.loop_scope == "session":
        if autouse and tests_marked_for_the_session_loop():
            _mark_tests_for_the_session_loop(items)
    else:
        _leave_named_wider_loop_scopes(items, session)
    _mark_function_loop_tests(marked)


def _mark_tests_for_the_session_loop(items: list[pytest.Item]) -> None:
    """Give each async test that names no loop scope the session loop its fixtures are
    on; a test that requests ``event_loop`` (the 0.2x way) keeps that loop."""
    for item in items:
        marker = item.get_closest_marker("asyncio")
        if (
            marker is not None
            and "event_loop" not in getattr(item, "fixturenames", ())
            and not {"loop_scope", "scope"} & set(marker.kwargs)
            and inspect.iscoroutinefunction(getattr(item, "obj", None))
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


def keep_event_loop_fixtures_on_it(
    session: pytest.Session, seen: set[pytest.FixtureDef[Any]]
) -> None:
    """Before 1.0: an async fixture that requests ``event_loop`` (the 0.2x way) runs on
    that loop, as its tests do, instead of the session loop of the fixture default.

    pytest-asyncio 0.24-0.26 reads a fixture's loop scope from its function when it
    collects.
    """
    for fixturedef in upstream.fixture_definitions(session):
        if fixturedef in seen:
            continue
        seen.add(fixturedef)
        func = fixturedef.func
        if (
            "event_loop" in fixturedef.argnames
            and (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))
            and upstream.fixture_loop_scope(func) is None
        ):
            upstream.set_fixture_loop_scope(func, "function")


def _names_loop_scope(item: pytest.Item) -> str | None:
    """The loop scope the item's ``green_light`` marker names, if it names one."""
    marker = item.get_closest_marker("green_light")
    return None if marker is None else marker.kwargs.get("loop_scope")


def _leave_named_wider_loop_scopes(
    items: list[pytest.Item], session: ItemSettings
) -> None:
    """A test whose ``asyncio`` marker names a loop scope wider than ``function`` runs
    on that scope's loop, shared with its fixtures of that scope: in loop scope
    ``function`` it gets no loop of its own (before 1.3 pytest-asyncio runs a test on
    whatever loop is current)."""
    for item in items:
        marker = item.get_closest_marker("asyncio")
        if marker is None:
            continue
        named = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
        if named in (None, "function") or (
            ITEM_SETTINGS_KEY in item.stash and _names_loop_scope(item)
        ):
            continue
        own = item_settings(item, session)
        item.stash[ITEM_SETTINGS_KEY] = ItemSettings("session", own.sync_io)


def _mark_function_loop_tests(marked: list[pytest.Item]) -> None:
    """Make pytest-asyncio give ``green_light(loop_scope="function")`` tests their own
    loop: it reads the loop scope from the closest ``asyncio`` marker."""
    for item in marked:
        if (
            _names_loop_scope(item) == "function"
            and item.get_closest_marker("asyncio") is not None
            and inspect.iscoroutinefunction(getattr(item, "obj", None))
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="function"), append=False)
