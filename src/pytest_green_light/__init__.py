"""pytest-green-light: one event loop per pytest worker, and greenlet context for
SQLAlchemy's asyncio extension, with and without pytest-xdist."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from pytest_green_light.process_role import MASTER, session_worker_id

if TYPE_CHECKING:
    from pytest_green_light.database.url import worker_database_url
    from pytest_green_light.worker_loop.lifecycle import get_or_create_event_loop

__version__ = "1.0.0"

__all__ = [
    "__version__",
    "get_or_create_event_loop",
    "is_parallel_execution",
    "is_worker_main_thread",
    "worker_database_url",
]


def is_parallel_execution() -> bool:
    """True in a pytest-xdist worker's session.

    Before pytest has configured the session (a conftest.py being imported), the
    answer comes from xdist's ``$PYTEST_XDIST_WORKER``.
    """
    worker = session_worker_id.get()
    if worker is not None:
        return worker != MASTER
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def is_worker_main_thread() -> bool:
    """True on the thread that runs this worker's tests.

    That is the main thread, except with pytest-xdist 3.5 and some execnet specs,
    where tests run in a thread such as ``Dummy-1``.
    """
    # No lifecycle ever started in this process: nothing to import (nor asyncio).
    if "pytest_green_light.worker_loop.lifecycle" in sys.modules:
        from pytest_green_light.worker_loop.lifecycle import active

        lifecycle = active()
        if lifecycle is not None:
            return lifecycle.worker.on_worker_thread()
    return threading.current_thread() is threading.main_thread()


def __getattr__(name: str) -> Any:
    # Imported on first use: SQLAlchemy costs every pytest process a noticeable start-up
    # time, and runs without a database never need it; asyncio is not needed by the
    # xdist controller, which runs no tests.
    if name == "worker_database_url":
        from pytest_green_light.database.url import worker_database_url

        return worker_database_url
    if name == "get_or_create_event_loop":
        from pytest_green_light.standby import wake_waiting

        wake_waiting()
        from pytest_green_light.worker_loop.lifecycle import get_or_create_event_loop

        return get_or_create_event_loop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
