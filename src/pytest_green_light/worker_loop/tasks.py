"""Which test started which task, and what to do with tasks left running.

On a loop shared by a whole worker session, a task a test forgot (a background logger,
a poller) would otherwise run on into the next test. Tasks are attributed through the
running test's context (``pytest_green_light.running_test``): every task a test, its
function-scoped fixtures or their tasks start is listed on that test, while tasks of
higher-scoped fixtures (set up outside any test's context) are not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterable
from typing import Any

from pytest_green_light.running_test import current_test
from pytest_green_light.sync_io.greenlet_bridge import SyncIO


async def _async_generator() -> AsyncGenerator[None]:
    yield


def _aclose_type() -> type:
    closing = _async_generator().aclose()
    closing.close()
    return type(closing)


# What asyncio's async-generator finalizer hook schedules for a generator dropped
# unfinished: housekeeping, finalized quietly as pytest-asyncio does, nobody's leak.
_ASYNC_GENERATOR_ACLOSE = _aclose_type()


class TaskFactory:
    """The task factory of the loops the plugin hands out.

    A new task's coroutine is bridged for sync IO when it should be; on the worker
    loop (``record``), the task is also written into its creator's ledger and counted
    (``created``: whether a fixture's set-up ran on the worker loop).
    """

    __slots__ = ("created", "record", "sync_io")

    def __init__(self, sync_io: SyncIO, *, record: bool) -> None:
        self.sync_io = sync_io
        self.record = record
        self.created = 0

    def __call__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        housekeeping = isinstance(coro, _ASYNC_GENERATOR_ACLOSE)
        coro = self.sync_io.bridge(coro, loop)
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        if self.record and not housekeeping:
            self.created += 1
            test = current_test.get()
            if test is not None and test.tasks is not None:
                test.tasks.append(task)
        return task


def describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    where = getattr(coro, "__qualname__", None) or repr(coro)
    return f"{task.get_name()} ({where})"


def cancel_and_wait(
    loop: asyncio.AbstractEventLoop, tasks: Iterable[asyncio.Task[Any]]
) -> None:
    """Cancel tasks and run the loop until they are done, as asyncio.run() does."""
    tasks = list(tasks)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception while cancelling a leftover task",
                    "exception": task.exception(),
                    "task": task,
                }
            )
