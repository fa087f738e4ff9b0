"""Bringing pytest-asyncio onto the worker loop, and checking that it stays there.

Every supported pytest-asyncio version builds its loops through the event loop
policy's ``new_event_loop()``. While pytest-asyncio sets up the fixture whose loop lives
as long as the session (``_session_scoped_runner``; ``_session_event_loop`` before 1.3),
the plugin's policy answers with the worker loop; every other runner gets a fresh loop,
so no short-lived runner can close the worker loop. The fixtures are recognised by
their scope and by being pytest-asyncio's own, not by their private names.
(``upstream.install_loop_policy`` says why not its ``pytest_asyncio_loop_factories``.)

Each async fixture pytest-asyncio runs on the session loop is checked to have started
its task on the worker loop (``promise.py``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_green_light import upstream
from pytest_green_light.markers import put_fixture_first
from pytest_green_light.promise import PromiseCheck
from pytest_green_light.running_test import current_test, own_fixture_setup
from pytest_green_light.with_pytest_asyncio.installed import asyncio_mode
from pytest_green_light.with_pytest_asyncio.loop_scopes import (
    keep_event_loop_fixtures_on_it,
    tests_marked_for_the_session_loop,
)
from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle
from pytest_green_light.worker_loop.loop import current_loop

if TYPE_CHECKING:
    from pytest_green_light.collection import Collected

ANCHOR = "_green_light_session_loop"
"""The name of the session anchor's fixture (declared in ``session_anchor.py``)."""


def _async_on_the_session_loop(fixturedef: pytest.FixtureDef[Any]) -> bool:
    """Whether an async fixture names no loop of its own: no ``loop_scope`` other than
    ``session``, no ``event_loop`` (the 0.2x way). Before 1.3 pytest-asyncio replaced
    the function with a sync wrapper of it by the time it is set up."""
    original = inspect.unwrap(fixturedef.func)
    return (
        (inspect.iscoroutinefunction(original) or inspect.isasyncgenfunction(original))
        and upstream.fixture_loop_scope(fixturedef.func) in (None, "session")
        and "event_loop" not in fixturedef.argnames
    )


class PytestAsyncioBridge:
    """Hands the worker loop to pytest-asyncio's session-long runner, and only to it."""

    def __init__(
        self,
        config: pytest.Config,
        lifecycle: WorkerLifecycle,
        pytest_asyncio_module: str,
    ) -> None:
        self.config = config
        self.lifecycle = lifecycle
        lifecycle.on_collected.append(self._collected)
        self.pytest_asyncio_module = pytest_asyncio_module
        self._setting_up: list[pytest.FixtureDef[Any]] = []
        self._holder: pytest.FixtureDef[Any] | None = None
        self._restore_policy: Callable[[], None] | None = None
        self._promised_fixtures: dict[object, bool] = {}  # by fixture function

    def _is_pytest_asyncios(self, fixturedef: pytest.FixtureDef[Any]) -> bool:
        return upstream.defined_by_pytest_asyncio(
            fixturedef, self.pytest_asyncio_module
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
            self.lifecycle.add_runner_loop(loop)
        return loop

    def _collected(self, collected: Collected) -> None:
        factories = getattr(self.config.hook, "pytest_asyncio_loop_factories", None)
        if factories is not None and factories.get_hookimpls():
            # The user's loop factories make pytest-asyncio's loops (1.4).
            self.lifecycle.promise.waive()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        self._restore_policy = upstream.install_loop_policy(self.new_event_loop)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if self._restore_policy is not None:
            self._restore_policy()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        scope = fixturedef.scope  # a property: three calls
        owner = own_fixture_setup(scope)
        self._setting_up.append(fixturedef)
        # By function: pytest makes a fixture definition per test for parameters.
        promised = self._promised_fixtures.get(fixturedef.func)
        if promised is None:
            promised = self._promised_fixtures[fixturedef.func] = self._promised(
                fixturedef
            )
        created = self.lifecycle.worker.task_factory.created if promised else -1
        try:
            if promised and scope == "function" and self.lifecycle.own_loop is not None:
                # A test with a loop of its own: its function-scoped fixtures too.
                with upstream.fixture_loop_scope_set_to(fixturedef.func, "function"):
                    result = yield
            else:
                result = yield
        finally:
            self._setting_up.pop()
            if owner is not None:
                current_test.reset(owner)
        if promised and self.lifecycle.worker.task_factory.created == created:
            self._check_fixture_loop(fixturedef, request, result)
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

    def _promised(self, fixturedef: pytest.FixtureDef[Any]) -> bool:
        """Whether an async fixture is promised the worker loop (asked once per
        fixture function)."""
        if fixturedef.argname == "event_loop_policy" and not self._is_pytest_asyncios(
            fixturedef
        ):
            # The user's policy makes pytest-asyncio's loops.
            self.lifecycle.promise.waive()
            return False
        return _async_on_the_session_loop(fixturedef)

    def _check_fixture_loop(
        self,
        fixturedef: pytest.FixtureDef[Any],
        request: pytest.FixtureRequest,
        result: Any,
    ) -> None:
        """The promise: a promised async fixture whose set-up started no task on the
        worker loop ran elsewhere, unless the test has a loop of its own (so do its
        function-scoped fixtures), anyio ran it, pytest-asyncio left it to pytest
        (strict mode, undecorated: its value is the coroutine) or the worker loop's
        task factory was replaced (then nothing tells)."""
        lifecycle = self.lifecycle
        if (
            not lifecycle.promise.on
            or (fixturedef.scope == "function" and lifecycle.own_loop is not None)
            or "anyio_backend" in request.fixturenames
            or inspect.iscoroutine(result)
            or inspect.isasyncgen(result)
            or not lifecycle.worker.records_tasks()
        ):
            return
        lifecycle.promise.broken(
            "pytest-asyncio's session loop is not the worker loop"
            if fixturedef.argname == ANCHOR
            else f"the async fixture {fixturedef.argname!r} ran on a loop that is "
            "not the worker loop"
        )

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        """After a function-loop runner closed its loop, put the worker loop back.

        pytest-asyncio >= 1.4 leaves no loop current, 1.0-1.3 a closed one, and 0.26 a
        new "clean" loop that nobody else holds: that one is closed here, or it would
        be garbage-collected open (a ResourceWarning).
        """
        if not upstream.defined_by_pytest_asyncio(
            fixturedef, self.pytest_asyncio_module
        ):
            return  # a call less than through the method: this runs for every fixture
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
        self.lifecycle.check_sync_code_loop()


def bridge_pytest_asyncio(config: pytest.Config, lifecycle: WorkerLifecycle) -> None:
    """Hand pytest-asyncio the worker loop (its loop scopes are lined up already), and
    check that its tests and fixtures stay on it."""
    plugin = config.pluginmanager.get_plugin("asyncio")
    bridge = PytestAsyncioBridge(config, lifecycle, getattr(plugin, "__name__", ""))
    config.pluginmanager.register(bridge, "green_light_pytest_asyncio_bridge")
    if lifecycle.settings.loop_scope == "session":
        if tests_marked_for_the_session_loop():
            config.pluginmanager.register(
                EventLoopFixtures(), "green_light_event_loop_fixtures"
            )
        config.pluginmanager.import_plugin(
            "pytest_green_light.with_pytest_asyncio.session_anchor"
        )
        config.pluginmanager.register(
            AnchorPlacement(config.pluginmanager), AnchorPlacement.NAME
        )
        import pytest_asyncio

        lifecycle.promise = PromiseCheck(
            config.pluginmanager,
            ("pytest-asyncio", asyncio_mode(config)),
            pytest_asyncio.is_async_test,
        )


class EventLoopFixtures:
    """Before pytest-asyncio 1.0, with loop scope ``session``: async fixtures that
    request ``event_loop`` stay on that loop (``keep_event_loop_fixtures_on_it``)."""

    def __init__(self) -> None:
        self._seen: set[pytest.FixtureDef[Any]] = set()

    # tryfirst, and registered after pytest-asyncio: runs before it reads the fixtures.
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector) -> None:
        keep_event_loop_fixtures_on_it(collector.session, self._seen)


class AnchorPlacement:
    """Puts the session anchor into the worker's first test it can go into, then
    unregisters itself: the tests after it pay for no hook."""

    NAME = "green_light_session_anchor_placement"

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self.pluginmanager = pluginmanager

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if put_session_anchor_first(item):
            self.pluginmanager.unregister(self)


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
