"""Bringing pytest-asyncio onto the worker loop.

Every supported pytest-asyncio version builds its loops through the event loop
policy's ``new_event_loop()``. While pytest-asyncio sets up the fixture whose loop lives
as long as the session (``_session_scoped_runner``; ``_session_event_loop`` before 1.3),
the plugin's policy answers with the worker loop; every other runner gets a fresh loop,
so no short-lived runner can close the worker loop. The fixtures are recognised by
their scope and by being pytest-asyncio's own, not by their private names.

pytest-asyncio >= 1.4 also offers the ``pytest_asyncio_loop_factories`` hook, but it
parametrizes tests by factory, and a sync or function-loop test that comes first makes
pytest rebuild (and close) the session runner; the policy has no such cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Generator, Iterator
from importlib.metadata import version
from typing import Any, cast

import pytest

from pytest_green_light.lifecycle import LOOP_SCOPE_KEY, WorkerLifecycle
from pytest_green_light.settings import SETTINGS_KEY, LoopScope, put_fixture_first
from pytest_green_light.worker import current_loop

FIXTURE_LOOP_SCOPE_INI = "asyncio_default_fixture_loop_scope"
TEST_LOOP_SCOPE_INI = "asyncio_default_test_loop_scope"
LOOP_SCOPE_INI = (FIXTURE_LOOP_SCOPE_INI, TEST_LOOP_SCOPE_INI)
# pytest-asyncio 1.5 lets the fixture default say "each fixture's own scope".
FIXTURE_SCOPE_VALUE_SINCE = (1, 5)

OVERRIDDEN_LOOP_SCOPES_KEY = pytest.StashKey[dict[str, str]]()
"""The user's pytest-asyncio loop-scope defaults the plugin took differently."""

# Before 0.24 pytest-asyncio has no loop_scope for fixtures.
OLDEST_PYTEST_ASYNCIO = (0, 24)
UNSUPPORTED_PYTEST_ASYNCIO = (
    "pytest-green-light needs pytest-asyncio {oldest} or later, and pytest-asyncio "
    "{found} is installed. Upgrade it (pip install 'pytest-asyncio>={oldest}'), or run "
    "without pytest-green-light: -p no:green_light."
)

# Custom policies are deprecated from 3.14 and ignored by new_event_loop() from 3.16.
POLICIES_WORK = sys.version_info < (3, 16)


def has_pytest_asyncio(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("asyncio")


def _user_set_ini(config: pytest.Config, name: str) -> bool:
    """Whether the ini file, ``-o`` or addopts set ``name``.

    pytest has no public API for this: pytest 9 keeps file and ``-o`` values in
    ``_inicfg`` (its public ``inicfg`` warns there), pytest 8 in ``inicfg``.
    """
    overrides = config.getoption("override_ini", None) or []
    if any(item.split("=", 1)[0].strip() == name for item in overrides):
        return True
    inicfg = getattr(config, "_inicfg", None)
    if inicfg is None:
        inicfg = config.inicfg
    return name in inicfg


def _has_ini(config: pytest.Config, name: str) -> bool:
    """Whether the installed pytest-asyncio knows the ini key (the test default came in
    0.26)."""
    try:
        config.getini(name)
    except ValueError:
        return False
    return True


@functools.cache
def pytest_asyncio_version() -> tuple[int, ...]:
    """The installed pytest-asyncio's (major, minor); read from its metadata once."""
    return tuple(
        int(part) for part in re.findall(r"\d+", version("pytest-asyncio"))[:2]
    )


def require_supported_pytest_asyncio() -> None:
    if pytest_asyncio_version() < OLDEST_PYTEST_ASYNCIO:
        raise pytest.UsageError(
            UNSUPPORTED_PYTEST_ASYNCIO.format(
                found=version("pytest-asyncio"),
                oldest=".".join(map(str, OLDEST_PYTEST_ASYNCIO)),
            )
        )


def async_fixture_decorator(config: pytest.Config) -> Callable[..., Any]:
    """The decorator that makes an async fixture run on the test's loop: pytest-asyncio's
    (which strict mode requires), or pytest's own for the plugin's runner."""
    if has_pytest_asyncio(config):
        import pytest_asyncio

        return cast(Callable[..., Any], pytest_asyncio.fixture)
    return pytest.fixture


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

    Runs before pytest-asyncio's ``pytest_configure`` reads them. There is no public
    way to give an ini key a value, so the value goes where ``getini`` looks first. A
    default to unset stays until ``unset_loop_scope_defaults``: unset in
    ``pytest_configure``, pytest-asyncio would warn the user that it is unset.
    """
    overridden: dict[str, str] = {}
    for name, value in _loop_scope_defaults(config, loop_scope).items():
        if _user_set_ini(config, name) and config.getini(name) != value:
            overridden[name] = str(config.getini(name))
        if value is None or (
            value == "session"
            and name == TEST_LOOP_SCOPE_INI
            and tests_marked_for_the_session_loop()
        ):
            continue
        config._inicache[name] = value
    config.stash[OVERRIDDEN_LOOP_SCOPES_KEY] = overridden


def unset_loop_scope_defaults(config: pytest.Config, loop_scope: LoopScope) -> None:
    """Unset the defaults ``loop_scope`` wants unset, once pytest-asyncio's
    ``pytest_configure`` has read them."""
    for name, value in _loop_scope_defaults(config, loop_scope).items():
        if value is None:
            config._inicache[name] = None


def tests_marked_for_the_session_loop() -> bool:
    """Before 1.0 the session loop is given to tests by marker, not by the default:
    0.24 and 0.25 have no test default, and in 0.26 a session default makes every test
    that requests ``event_loop`` an error at collection."""
    return pytest_asyncio_version() < (1, 0)


def asyncio_mode(config: pytest.Config) -> str:
    """pytest-asyncio's mode: the command line's, else the ini file's."""
    return str(config.getoption("asyncio_mode", None) or config.getini("asyncio_mode"))


def describe_driver(config: pytest.Config) -> str:
    if not has_pytest_asyncio(config):
        return "green-light"
    described = (
        f"pytest-asyncio {version('pytest-asyncio')} ({asyncio_mode(config)} mode"
    )
    overridden = config.stash.get(OVERRIDDEN_LOOP_SCOPES_KEY, {})
    if overridden:
        scope = config.stash[SETTINGS_KEY].loop_scope
        described += (
            "; your "
            + ", ".join(f"{name}={value}" for name, value in overridden.items())
            + f" taken as green_light_loop_scope = {scope}"
            + (
                ", set green_light_loop_scope = function for per-test loops"
                if scope == "session"
                else ": async fixtures on the loop of their own scope"
            )
        )
    return described + ")"


@contextlib.contextmanager
def _policy_api() -> Iterator[None]:
    """asyncio's policy functions, without their 3.14 deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class PytestAsyncioBridge:
    """Hands the worker loop to pytest-asyncio's session-long runner, and only to it."""

    def __init__(self, lifecycle: WorkerLifecycle, pytest_asyncio_module: str) -> None:
        self.lifecycle = lifecycle
        self.pytest_asyncio_module = pytest_asyncio_module
        self._setting_up: list[pytest.FixtureDef[Any]] = []
        self._holder: pytest.FixtureDef[Any] | None = None
        self._previous_policy: Any = None
        self._fixtures_seen: set[pytest.FixtureDef[Any]] = set()
        on_session_loop = lifecycle.settings.loop_scope == "session"
        # The session anchor goes into the worker's first test (session loop only).
        self._anchor_pending = on_session_loop
        self._session_loop_by_marker = (
            on_session_loop and tests_marked_for_the_session_loop()
        )

    def _is_pytest_asyncios(self, fixturedef: pytest.FixtureDef[Any]) -> bool:
        return (
            getattr(fixturedef.func, "__module__", None) == self.pytest_asyncio_module
        )

    def _building_loop(self, scope: str) -> bool:
        """Whether pytest-asyncio is setting up its runner (or loop) of this scope, or
        (session) the user's own ``event_loop`` fixture, the 0.2x recipe for one loop."""
        if not self._setting_up:
            return False
        fixturedef = self._setting_up[-1]
        if fixturedef.scope != scope:
            return False
        return self._is_pytest_asyncios(fixturedef) or (
            scope == "session" and fixturedef.argname == "event_loop"
        )

    def new_event_loop(self, fresh: Any) -> asyncio.AbstractEventLoop:
        worker = self.lifecycle.worker
        if self._building_loop("session") and not worker.retired:
            self._holder = self._setting_up[-1]
            return worker.loop
        own_loop = self.lifecycle.own_loop
        if own_loop is not None and self._building_loop("function"):
            # A test with a loop of its own: the runner runs it on that loop, which
            # its sync code and fixtures have too (green_light_loop), and closes it.
            return own_loop
        loop: asyncio.AbstractEventLoop = fresh()
        if self._setting_up and self._is_pytest_asyncios(self._setting_up[-1]):
            # A runner's loop: its tasks get sync IO. Other callers (anyio's runner,
            # the tests' own asyncio.run()) get a plain loop.
            loop.set_task_factory(self.lifecycle.fresh_loop_task_factory)
            self.lifecycle.runner_loops.add(loop)
        return loop

    # tryfirst, and registered after pytest-asyncio: runs before it reads the fixtures.
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector) -> None:
        if self._session_loop_by_marker:
            keep_event_loop_fixtures_on_it(collector.session, self._fixtures_seen)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self._session_loop_by_marker:
            mark_tests_for_the_session_loop(items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self._anchor_pending and put_session_anchor_first(item):
            self._anchor_pending = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if not POLICIES_WORK:
            return
        with _policy_api():
            self._previous_policy = asyncio.get_event_loop_policy()
            default_policy = asyncio.DefaultEventLoopPolicy
        bridge = self

        class GreenLightPolicy(default_policy):  # type: ignore[misc, valid-type]
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                return bridge.new_event_loop(super().new_event_loop)

        with _policy_api():
            asyncio.set_event_loop_policy(GreenLightPolicy())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if self._previous_policy is not None:
            with _policy_api():
                asyncio.set_event_loop_policy(self._previous_policy)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any]
    ) -> Generator[None, Any, Any]:
        self._setting_up.append(fixturedef)
        try:
            result = yield
        finally:
            self._setting_up.pop()
        if fixturedef is self._holder:
            # The holder closes the worker loop in its teardown, which pytest has just
            # registered; a finalizer added now runs before it: report leftovers there.
            self._holder = None
            fixturedef.addfinalizer(self.lifecycle.retire_worker_loop)
        elif isinstance(result, asyncio.AbstractEventLoop) and self._is_pytest_asyncios(
            fixturedef
        ):
            # Before 1.0 the teardown of pytest-asyncio's loop fixtures closes (and
            # warns about) the current loop unless it is theirs: make theirs current
            # first (the worker loop is after a test's own loop, or between tests).
            fixturedef.addfinalizer(functools.partial(asyncio.set_event_loop, result))
        return result

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        """After a function-loop runner closed its loop, put the worker loop back.

        pytest-asyncio >= 1.4 leaves no loop current, 1.0-1.3 a closed one, and 0.26 a
        new "clean" loop that nobody else holds: that one is closed here, or it would
        be garbage-collected open (a ResourceWarning).
        """
        if not self._is_pytest_asyncios(fixturedef):
            return
        replaced = current_loop()
        worker_loop = self.lifecycle.worker.ensure_current()
        if (
            replaced is not None
            and replaced is not worker_loop
            and replaced not in self.lifecycle.runner_loops
            and not replaced.is_closed()
            and not replaced.is_running()
        ):
            replaced.close()


def configure(config: pytest.Config, lifecycle: WorkerLifecycle) -> None:
    """Hand pytest-asyncio the worker loop (its loop scopes are lined up already)."""
    plugin = config.pluginmanager.get_plugin("asyncio")
    bridge = PytestAsyncioBridge(lifecycle, getattr(plugin, "__name__", ""))
    config.pluginmanager.register(bridge, "green_light_pytest_asyncio_bridge")
    if lifecycle.settings.loop_scope == "session":
        config.pluginmanager.import_plugin("pytest_green_light.session_anchor")


ANCHOR = "_green_light_session_loop"


def put_session_anchor_first(item: pytest.Item) -> bool:
    """Make the session-loop anchor the first fixture this test sets up; False where
    it cannot go (anyio's tests, and items without fixtures).

    Done for each worker's first test, at run time rather than by autouse, so other
    tests carry nothing: once the anchor is set up, it stays until the session ends.
    Not by autouse either because anyio takes over every coroutine fixture in a test
    that uses ``anyio_backend``. First, because pytest 8 sets up a root conftest's
    autouse fixtures before a plugin's.
    """
    if "anyio_backend" in getattr(item, "fixturenames", ()):
        return False
    return put_fixture_first(item, ANCHOR)


def mark_tests_for_the_session_loop(items: list[pytest.Item]) -> None:
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

    pytest-asyncio 0.24-0.26 reads a fixture's loop scope from ``_loop_scope`` on its
    function when it collects, and nothing public lists a session's fixtures (these
    versions run on pytest 8 only, whose fixture manager is read here).
    """
    fixturemanager = session._fixturemanager
    for fixturedefs in fixturemanager._arg2fixturedefs.values():  # type: ignore[attr-defined]
        for fixturedef in fixturedefs:
            if fixturedef in seen:
                continue
            seen.add(fixturedef)
            func = fixturedef.func
            if (
                "event_loop" in fixturedef.argnames
                and (
                    inspect.iscoroutinefunction(func)
                    or inspect.isasyncgenfunction(func)
                )
                and getattr(func, "_loop_scope", None) is None
            ):
                func._loop_scope = "function"


def leave_named_wider_loop_scopes(items: list[pytest.Item]) -> None:
    """A test whose ``asyncio`` marker names a loop scope wider than ``function`` runs
    on that scope's loop, shared with its fixtures of that scope: in loop scope
    ``function`` it gets no loop of its own (before 1.3 pytest-asyncio runs a test on
    whatever loop is current)."""
    for item in items:
        if LOOP_SCOPE_KEY in item.stash:
            continue
        marker = item.get_closest_marker("asyncio")
        if marker is None:
            continue
        named = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
        if named not in (None, "function"):
            item.stash[LOOP_SCOPE_KEY] = "session"


def mark_function_loop_tests(items: list[pytest.Item]) -> None:
    """Make pytest-asyncio give ``green_light(loop_scope="function")`` tests their own
    loop: it reads the loop scope from the closest ``asyncio`` marker."""
    for item in items:
        if (
            item.stash.get(LOOP_SCOPE_KEY, None) == "function"
            and item.get_closest_marker("asyncio") is not None
            and inspect.iscoroutinefunction(getattr(item, "obj", None))
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="function"), append=False)
