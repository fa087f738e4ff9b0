"""One worker's session: its loop from start to finish and each test's turn on it."""

from __future__ import annotations

import asyncio
import contextvars
import warnings
import weakref
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_green_light.markers import OWN_LOOP_FIXTURE, put_fixture_first
from pytest_green_light.missing_greenlet import verify_greenlet
from pytest_green_light.promise import PromiseCheck
from pytest_green_light.running_test import RunningTest, current_test, runs_test_body
from pytest_green_light.settings import ITEM_SETTINGS_KEY, Settings
from pytest_green_light.sync_io.greenlet_bridge import SyncIO
from pytest_green_light.warning import GreenLightWarning
from pytest_green_light.worker_loop.loop import (
    WorkerLoop,
    current_loop,
    running_loop,
    shut_down_loop,
)
from pytest_green_light.worker_loop.tasks import TaskFactory, cancel_and_wait, describe

if TYPE_CHECKING:
    from pytest_green_light.collection import Collected


def _task_list(tasks: list[asyncio.Task[Any]]) -> str:
    return ", ".join(describe(task) for task in tasks)


class WorkerLifecycle:
    """Owns the worker loop of one worker session and hands each test its loop."""

    def __init__(self, settings: Settings, sync_io: SyncIO, *, worker_id: str) -> None:
        self.settings = settings
        self.sync_io = sync_io
        self.worker_id = worker_id
        self._active_token: contextvars.Token[WorkerLifecycle | None] | None = None
        self.worker = WorkerLoop(
            TaskFactory(sync_io, record=True), debug=settings.debug
        )
        # For every other loop the plugin makes or hands to pytest-asyncio.
        self.fresh_loop_task_factory = TaskFactory(sync_io, record=False)
        self._test_loop: asyncio.AbstractEventLoop | None = None
        # The running test, until its tasks are settled.
        self._running: tuple[pytest.Item, RunningTest] | None = None
        self._test_token: contextvars.Token[RunningTest | None] | None = None
        # Tasks tests left running on purpose (leaked_tasks = warn|ignore), by owner.
        self._kept: dict[asyncio.Task[Any], str] = {}
        # Loops pytest-asyncio's other runners made (class, module, package scope):
        # theirs to close, and before 1.3 it runs tests on whichever one is current.
        self.runner_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = (
            weakref.WeakSet()
        )
        self._made_runner_loops = False  # a WeakSet's truth is a Python-level len()
        # Set by whoever drives async tests (pytest-asyncio's bridge, or the runner).
        self.promise = PromiseCheck.off()
        # Who drives async tests hears of the collected tests after the lifecycle.
        self.on_collected: list[Callable[[Collected], None]] = []
        self._for_tests = settings.for_tests
        self._first_test = True

    # -- session (hooks: this object is registered as a plugin in workers) ----

    def pytest_sessionstart(self) -> None:
        verify_greenlet(self.worker.start())
        self._active_token = _active.set(self)

    # trylast: after pytest tore down what is still set up (session fixtures, when the
    # run stopped early: -x, --maxfail), so their teardowns find the loop open. xdist
    # reports the worker finished after every implementation has run.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if self._active_token is not None:
            _active.reset(self._active_token)
            self._active_token = None
        self.worker.close(self._report_session_leftovers)
        self._kept.clear()

    def retire_worker_loop(self) -> None:
        """The worker loop's runner is about to close it: the last test's tasks are
        that test's to answer for; report what else still runs."""
        self._settle_test_tasks()
        self.worker.retire(self._report_session_leftovers)

    def _report_session_leftovers(self, tasks: list[asyncio.Task[Any]]) -> None:
        owners = dict(self._kept)
        lines = [
            f"{describe(t)}, left running by {owners[t]}"
            if t in owners
            else f"{describe(t)}, started outside any test"
            for t in tasks
        ]
        warnings.warn(
            GreenLightWarning(
                f"pytest-green-light cancelled {len(tasks)} task(s) still pending when "
                f"the session of worker {self.worker_id} ended:\n  "
                + "\n  ".join(lines)
            ),
            stacklevel=1,
        )

    # -- loops -----------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the running test (or sync code between tests) should use."""
        return self._test_loop or self.worker.loop

    @property
    def own_loop(self) -> asyncio.AbstractEventLoop | None:
        """The running test's own loop (loop scope ``function``), if it has one."""
        return self._test_loop

    def add_runner_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """A loop one of pytest-asyncio's other runners made: theirs to close."""
        self.runner_loops.add(loop)
        self._made_runner_loops = True

    # -- one test ----------------------------------------------------------------
    # On the worker loop, a test's turn is handled in runtest hooks: pytest's machinery
    # for a function-scoped autouse fixture costs several per cent of a trivial test.
    # A test with a loop of its own gets it from a fixture set up before all others
    # (so that its fixtures' teardowns still run on that loop).

    def collected(self, collected: Collected) -> None:
        """What the session's tests ask of the worker (the collection step), known."""
        self.sync_io.test_code.add_collected(collected.test_files)
        for item in collected.own_loop:
            put_fixture_first(item, OWN_LOOP_FIXTURE)
        self.promise.collected(collected.on_worker_loop)
        for listener in self.on_collected:
            listener(collected)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Before any fixture: the test's context (its sync IO mode, the tasks it
        starts), and the worker loop current unless the test has its own."""
        stash = item.stash  # item_settings(), inlined: this runs for every test
        own = (
            stash[ITEM_SETTINGS_KEY]  # noqa: SIM401 - get() raises and catches KeyError
            if ITEM_SETTINGS_KEY in stash
            else self._for_tests
        )
        on_worker_loop = own.loop_scope == "session"
        test = RunningTest(
            item, own.sync_io, on_worker_loop, id(item) in self.promise.tests
        )
        self._test_token = current_test.set(test)
        self._running = (item, test)
        if on_worker_loop:
            self._restore_worker_loop()
        if self._first_test:
            self._first_test = False
            self.check_sync_code_loop()

    def check_sync_code_loop(self) -> None:
        """The promise: sync code gets the worker loop once it is made current (checked
        where asyncio or a runner had their say: the first test, runner teardowns)."""
        if (
            self.promise.on
            and not self.worker.retired
            and current_loop() is not self.worker.loop
        ):
            self.promise.broken(
                "sync code between tests does not get the worker loop from "
                "asyncio.get_event_loop()"
            )

    def _restore_worker_loop(self) -> None:
        """Make the worker loop current again, unless an open loop of one of
        pytest-asyncio's runners is: the tests of its scope run on it."""
        if self._made_runner_loops:
            loop = current_loop()
            if loop is not None and loop in self.runner_loops and not loop.is_closed():
                return
        self.worker.ensure_current()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """After the test's fixtures: handle the tasks it left running."""
        if self._test_token is not None:
            current_test.reset(self._test_token)
            self._test_token = None
        if self._running is not None and self._running[1].promised:
            self._check_test_loop(item, self._running[1])
        self._settle_test_tasks()

    def _check_test_loop(self, item: pytest.Item, test: RunningTest) -> None:
        """The promise: an async test whose function ran started its task on the
        worker loop (unless the loop's task factory was replaced: then nothing
        tells)."""
        if not test.body_ran or not self.promise.on:
            return
        if any(runs_test_body(task, item) for task in test.tasks or ()):
            return
        if self.worker.records_tasks():
            self.promise.broken(
                "an async test ran on a loop that is not the worker loop"
            )

    def _settle_test_tasks(self) -> None:
        """Handle the tasks the running test left, once: after its fixtures' teardown,
        or, in a worker's last test, when pytest-asyncio's session runner is about to
        close the worker loop (torn down within that test's teardown)."""
        if self._running is None:
            return
        (item, test), self._running = self._running, None
        tasks, test.tasks = test.tasks, None
        if not tasks:
            return
        # Not kept on the test: each task's context holds the test, and the test its
        # tasks, a cycle only the cyclic garbage collector would free.
        leftovers = [task for task in tasks if not task.done()]
        loop = self.worker.loop
        if not leftovers or loop.is_closed():
            return
        # The test's own body, interrupted while it awaited (pytest-timeout): the
        # test is over and its failure says why, so it is no leak to report.
        body = [task for task in leftovers if runs_test_body(task, item)]
        cancel_and_wait(loop, body)
        leftovers = [task for task in leftovers if task not in body]
        if leftovers:
            self._handle_test_leftovers(item, loop, leftovers)

    def run_on_own_loop(self) -> Generator[asyncio.AbstractEventLoop, None, None]:
        """The body of the fixture that gives a test a fresh loop, closed after it."""
        loop = self._test_loop = asyncio.new_event_loop()
        loop.set_task_factory(self.fresh_loop_task_factory)
        asyncio.set_event_loop(loop)
        try:
            yield loop
        finally:
            self._test_loop = None
            try:
                shut_down_loop(loop)
            finally:
                self.worker.ensure_current()

    def _handle_test_leftovers(
        self,
        item: pytest.Item,
        loop: asyncio.AbstractEventLoop,
        tasks: list[asyncio.Task[Any]],
    ) -> None:
        policy = self.settings.leaked_tasks
        if policy == "cancel":
            cancel_and_wait(loop, tasks)
            item.warn(
                GreenLightWarning(
                    f"{item.nodeid} left {len(tasks)} task(s) running on the shared "
                    f"worker loop; pytest-green-light cancelled them: {_task_list(tasks)}. "
                    "Await or cancel them in the test, or set "
                    "green_light_leaked_tasks = warn|ignore to keep them."
                )
            )
            return
        self._kept.update((task, item.nodeid) for task in tasks)
        if policy == "warn":
            item.warn(
                GreenLightWarning(
                    f"{item.nodeid} left {len(tasks)} task(s) running on the shared "
                    f"worker loop: {_task_list(tasks)}. They keep running into the "
                    "following tests (green_light_leaked_tasks = warn)."
                )
            )


# The worker session running here (the innermost, when pytester runs nest). Other
# threads start without it: the worker loop is the test thread's.
_active: contextvars.ContextVar[WorkerLifecycle | None] = contextvars.ContextVar(
    "pytest_green_light_lifecycle", default=None
)


def active() -> WorkerLifecycle | None:
    return _active.get()


def get_or_create_event_loop() -> asyncio.AbstractEventLoop:
    """The loop to use from here, never raising for lack of one.

    Inside a running loop: that loop. In a worker's test thread: the worker loop (or the
    running test's own loop). Elsewhere: the thread's current loop, or a new one made
    current.
    """
    running = running_loop()
    if running is not None:
        return running
    lifecycle = active()
    if (
        lifecycle is not None
        and lifecycle.worker.on_worker_thread()
        and not lifecycle.worker.retired
    ):
        return lifecycle.loop
    loop = current_loop()
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop
