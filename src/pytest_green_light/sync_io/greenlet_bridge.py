"""Sync IO in tests: async tests and fixtures run inside a greenlet SQLAlchemy accepts.

SQLAlchemy's sync code (a lazy load, an expired attribute) reaches the database through
``await_only()``: it hands the awaitable to the parent of the current greenlet, if that
greenlet says it can (``upstream.provide_sync_io``), and raises ``MissingGreenlet``
otherwise. The plugin runs the coroutine of every task a test or an
async fixture starts inside such a greenlet; the task itself awaits what the greenlet
hands over. The test keeps its loop, its task and its context.

Whether the greenlet says yes is decided at each request: always (``all``), or only
when the code that asked is in a test module or a conftest file (``test``). Application
code then gets ``MissingGreenlet``, as it would in production, with a diagnostic.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import os
import types
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any

from pytest_green_light import upstream
from pytest_green_light.running_test import current_test
from pytest_green_light.settings import SyncIOMode


class TestCode:
    """Which source files count as test code: test modules and conftest files.

    A test module is a collected one, or one whose name matches ``python_files``.
    """

    __test__ = False  # not a test class, despite its name

    def __init__(self, python_files: Iterable[str]) -> None:
        self._patterns = tuple(python_files)
        self._collected: set[str] = set()
        self._verdicts: dict[str, bool] = {}

    def add_collected(self, paths: Iterable[os.PathLike[str] | str]) -> None:
        self._collected.update(os.fspath(path) for path in paths)
        self._verdicts.clear()

    def __contains__(self, filename: object) -> bool:
        if not isinstance(filename, str):
            return False
        verdict = self._verdicts.get(filename)
        if verdict is None:
            name = os.path.basename(filename)
            verdict = self._verdicts[filename] = (
                name == "conftest.py"
                or filename in self._collected
                or any(fnmatch.fnmatch(name, pattern) for pattern in self._patterns)
            )
        return verdict


class SyncIO:
    """The bridge for coroutines, under the running test's sync IO mode (or the
    session's default between tests)."""

    def __init__(self, default: SyncIOMode, test_code: TestCode) -> None:
        self.default = default
        self.test_code = test_code

    def bridge(self, coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
        """``coro``, wrapped to run in a sync-IO greenlet if it should.

        Bridged are the coroutines of tasks started from outside any task (tests and
        fixtures, as their runner starts them), and of tasks that bridged code starts,
        unless sync IO in them would be refused anyway (with ``test``: coroutines
        written outside test code, such as SQLAlchemy's own).
        """
        test = current_test.get()
        mode = self.default if test is None else test.sync_io
        if mode == "off" or type(coro) is not types.CoroutineType:
            return coro
        test_code = self.test_code if mode == "test" else None
        creator = asyncio.current_task(loop)
        if creator is not None and (
            type(creator.get_coro()) is not SyncIOCoroutine
            or (test_code is not None and coro.cr_code.co_filename not in test_code)
        ):
            return coro
        return SyncIOCoroutine(coro, test_code)


@functools.cache
def _greenlet_kit() -> tuple[type[Any], Callable[[Coroutine[Any, Any, Any]], Any]]:
    """The greenlet class and body bridged coroutines run with.

    Built on first use: the plugin must load without greenlet, to say it is missing.
    """
    from greenlet import GreenletExit, getcurrent, greenlet

    from pytest_green_light.sync_io.call_site import sync_io_allowed

    class SyncIOGreenlet(greenlet):  # type: ignore[misc]
        """SQLAlchemy asks this greenlet before doing sync IO in it."""

        test_code: TestCode | None  # None: sync IO allowed everywhere

    def allows_sync_io(self: SyncIOGreenlet) -> bool:
        __tracebackhide__ = True
        if self.test_code is None:
            return True
        return sync_io_allowed(upstream.caller_frame(), self.test_code)

    upstream.provide_sync_io(SyncIOGreenlet, allows_sync_io)

    def drive(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
        """Step the coroutine, switching each suspension out to the task.

        Returns or switches out ``(finished, value)``; SQLAlchemy's ``await_only``
        switches out a bare awaitable instead.
        """
        __tracebackhide__ = True
        parent = getcurrent().parent
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                yielded = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return (True, stop.value)
            value, error = None, None
            try:
                value = parent.switch((False, yielded))
            except GreenletExit:  # the greenlet is being collected: nothing to resume
                raise
            except BaseException as exc:  # thrown in by the task: cancellation and co.
                error = exc

    # Where a warning with stacklevel=2 at the top of the task is reported and filtered.
    return SyncIOGreenlet, upstream.stepping_a_task_as_asyncio_does(drive, "send")


class SyncIOCoroutine(Coroutine[Any, Any, Any]):
    """A task's coroutine, run step by step inside a :class:`SyncIOGreenlet`.

    To asyncio it is the coroutine it wraps (name, frame, repr). When SQLAlchemy hands
    the task an awaitable, the task awaits it and the greenlet resumes with the result.
    """

    def __init__(self, coro: Coroutine[Any, Any, Any], test_code: TestCode | None):
        self._coro: Any = coro
        # What asyncio reads from a coroutine (Task repr, get_stack, leak reports).
        self.__name__ = coro.__name__  # type: ignore[attr-defined]
        self.__qualname__ = coro.__qualname__  # type: ignore[attr-defined]
        self.cr_code = coro.cr_code  # type: ignore[attr-defined]
        self._test_code = test_code
        self._greenlet: Any = None  # the greenlet, from the first step on
        self._io: Generator[Any, Any, Any] | None = None

    def send(self, value: Any = None) -> Any:
        __tracebackhide__ = True
        greenlet = self._greenlet
        if greenlet is not None and self._io is None:  # the common case: resume it
            message = greenlet.switch(value)
            if type(message) is tuple and not message[0]:  # a suspension
                return message[1]
            return self._handle(message)
        if self._io is not None:
            return self._step_io(self._io.send, value)
        return self._handle(self._start(value))

    # asyncio steps a task whose coroutine is not a native one with __next__ (its
    # send(None)): the same method, without a call in between.
    __next__ = send

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        __tracebackhide__ = True
        if isinstance(typ, BaseException):
            exc = typ
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ() if val is None else typ(val)
        if tb is not None:
            exc = exc.with_traceback(tb)
        if self._io is not None:
            return self._step_io(self._io.throw, exc)
        if self._greenlet is None:  # cancelled before its first step
            return self._coro.throw(exc)
        return self._handle(self._resume_with_error(exc))

    def close(self) -> None:
        if self._greenlet is None or self._greenlet.dead:
            self._coro.close()
            return
        try:
            self.throw(GeneratorExit)
        except (GeneratorExit, StopIteration):
            return
        raise RuntimeError("coroutine ignored GeneratorExit")

    def __await__(self) -> Generator[Any, None, Any]:
        return self  # type: ignore[return-value]

    def _start(self, value: Any) -> Any:
        __tracebackhide__ = True
        if value is not None:
            raise TypeError("can't send non-None value to a just-started coroutine")
        greenlet_class, drive = _greenlet_kit()
        current = greenlet_class.getcurrent()
        runner = self._greenlet = greenlet_class(drive, current)
        runner.test_code = self._test_code
        # The task's context, as SQLAlchemy's own greenlets do: contextvars stay shared.
        runner.gr_context = current.gr_context
        return runner.switch(self._coro)

    def _step_io(self, step: Any, arg: Any) -> Any:
        """Advance the awaitable SQLAlchemy handed over; resume the greenlet when done."""
        __tracebackhide__ = True
        try:
            return step(arg)
        except StopIteration as done:
            self._io = None
            return self._handle(self._resume(done.value))
        except BaseException as exc:
            self._io = None
            return self._handle(self._resume_with_error(exc))

    def _resume(self, value: Any) -> Any:
        __tracebackhide__ = True
        return self._greenlet.switch(value)

    def _resume_with_error(self, exc: BaseException) -> Any:
        __tracebackhide__ = True
        # With its traceback: greenlet's throw(exc) alone would raise it without, and
        # the frames where it was raised (another task's, say) would be lost.
        return self._greenlet.throw(type(exc), exc, exc.__traceback__)

    def _handle(self, message: Any) -> Any:
        """Turn what the greenlet switched out into what the task expects."""
        __tracebackhide__ = True
        while type(message) is not tuple:  # an awaitable from await_only()
            io = message.__await__()
            try:
                yielded = io.send(None)
            except StopIteration as done:
                message = self._resume(done.value)
            except BaseException as exc:
                message = self._resume_with_error(exc)
            else:
                self._io = io
                return yielded
        finished, value = message
        if finished:
            raise StopIteration(value)
        return value

    # What asyncio and inspect read from a coroutine (Task repr, get_stack(),
    # getcoroutinestate()) comes from the wrapped one (cr_code, which does not change,
    # is copied in __init__).
    cr_await = property(lambda self: self._coro.cr_await)
    cr_frame = property(lambda self: self._coro.cr_frame)
    cr_origin = property(lambda self: self._coro.cr_origin)
    cr_running = property(lambda self: self._coro.cr_running)
    cr_suspended = property(lambda self: self._coro.cr_suspended)
