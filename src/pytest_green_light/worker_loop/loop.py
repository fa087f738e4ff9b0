"""The worker loop: the one event loop a worker session runs on, and how a loop is
shut down the way ``asyncio.run()`` shuts its own down."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Callable
from typing import Any

from pytest_green_light import upstream
from pytest_green_light.running_test import current_nodeid
from pytest_green_light.settings import debug
from pytest_green_light.warning import GreenLightWarning
from pytest_green_light.worker_loop.tasks import TaskFactory, cancel_and_wait


def _by_whom() -> str:
    nodeid = current_nodeid()
    return f" by {nodeid}" if nodeid else ""


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop the current thread would hand to sync code, without creating one."""
    running = running_loop()
    if running is not None:
        return running
    with warnings.catch_warnings():
        # Python 3.10-3.13 warn when get_event_loop() would have to create a loop.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None


LeftoverReport = Callable[[list["asyncio.Task[Any]"]], None]


class WorkerLoop:
    """The one event loop a worker session runs on, owned from start to finish.

    Sync code, async tests and async fixtures all get this loop object. Whoever
    unsets or replaces it between tests, ``ensure_current`` puts the worker loop back.
    Closing it before the session ends is refused with a warning: session fixtures and
    later tests hold it. When pytest-asyncio's session runner holds the loop, that
    runner closes it after the last test: the loop is *retired* just before, and left
    alone from then on.
    """

    def __init__(self, task_factory: TaskFactory, *, debug: bool = False) -> None:
        self.task_factory = task_factory
        self._debug = debug  # --green-light-debug: asked once, not per test
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retired = False
        self.thread_ident = threading.get_ident()
        self.thread_name = threading.current_thread().name

    def start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loop.set_task_factory(self.task_factory)
        upstream.intercept_close(loop, self._close_requested)
        asyncio.set_event_loop(loop)
        self._loop = loop
        debug("worker loop %#x started in thread %s", id(loop), self.thread_name)
        return loop

    def _close_requested(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop.close()`` of the worker loop: done at the end of the session (or by
        the runner it was retired to), refused before."""
        if self._retired or loop is not self._loop:
            upstream.really_close(loop)
            return
        warnings.warn(
            GreenLightWarning(
                f"The worker loop was closed{_by_whom()}: it is the loop "
                "asyncio.get_event_loop() gives tests, and session fixtures and the "
                "tests after this one run on it, so pytest-green-light kept it open. "
                "Close only loops you create (asyncio.new_event_loop(), asyncio.run())."
            ),
            stacklevel=2,
        )

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The worker loop, open (replaced with a new one if it was closed anyway)."""
        loop = self._loop
        if loop is None or (loop.is_closed() and not self._retired):
            if loop is not None:
                warnings.warn(
                    GreenLightWarning(
                        "The worker loop was found closed before the session ended"
                        f"{_by_whom()}; pytest-green-light started a new one. Objects "
                        "bound to the old loop (a session engine's connections) fail."
                    ),
                    stacklevel=2,
                )
            loop = self.start()
        return loop

    @property
    def retired(self) -> bool:
        return self._retired

    def ensure_current(self) -> asyncio.AbstractEventLoop:
        """Make the worker loop the thread's current loop again if it is not."""
        loop = self.loop
        if self._retired:
            return loop
        if self._debug and current_loop() is not loop:
            debug("worker loop %#x made current again", id(loop))
        # Setting is cheaper than asking: asking may warn or create a loop.
        asyncio.set_event_loop(loop)
        return loop

    def records_tasks(self) -> bool:
        """Whether the worker loop still makes its tasks with the plugin's factory
        (someone may have set their own)."""
        loop = self._loop
        return loop is not None and loop.get_task_factory() is self.task_factory

    def on_worker_thread(self) -> bool:
        return threading.get_ident() == self.thread_ident

    def retire(self, report_leftovers: LeftoverReport) -> None:
        """Cancel (and report) pending tasks and finalize async generators before the
        loop's runner closes it (pytest-asyncio before 1.0 only closes it)."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and not self._retired:
            _cancel_leftovers(loop, report_leftovers)
            loop.run_until_complete(loop.shutdown_asyncgens())
        self._retired = True
        debug("worker loop %#x handed back to the runner that closes it", id(loop))

    def close(self, report_leftovers: LeftoverReport) -> None:
        """Cancel (and report) pending tasks, shut down, close and unset the loop."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        shut_down_loop(loop, report_leftovers)
        if current_loop() is loop:
            asyncio.set_event_loop(None)
        debug("worker loop %#x closed", id(loop))


def _cancel_leftovers(
    loop: asyncio.AbstractEventLoop, report_leftovers: LeftoverReport | None
) -> None:
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if leftovers:
        if report_leftovers is not None:
            report_leftovers(leftovers)
        cancel_and_wait(loop, leftovers)


def shut_down_loop(
    loop: asyncio.AbstractEventLoop, report_leftovers: LeftoverReport | None = None
) -> None:
    """What asyncio.run() does at its end: cancel pending tasks (reporting them if
    asked), finalize async generators, shut the default executor down, close."""
    if loop.is_closed():  # pytest-asyncio 0.26 closes current loops it did not make
        return
    try:
        _cancel_leftovers(loop, report_leftovers)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
