"""Imported by inner test files to record facts for the outer test to check."""

import asyncio
import json
import os
import threading
import uuid
import weakref

# A name per loop object: id() is reused once a closed loop is freed.
_loop_names: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, str]" = (
    weakref.WeakKeyDictionary()
)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return _loop_names.setdefault(loop, uuid.uuid4().hex)


def record(test: str, **extra: object) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop()
    fact = {
        "test": test,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "master"),
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "loop": loop_name(loop),
        **extra,
    }
    with open(os.environ["GREEN_LIGHT_FACTS"], "a") as facts:
        facts.write(json.dumps(fact) + "\n")


def note(name: str, value: object) -> None:
    """Record a value under ``name``, touching no event loop (for hooks that run
    where there is none, such as the xdist controller)."""
    with open(os.environ["GREEN_LIGHT_FACTS"], "a") as facts:
        facts.write(json.dumps({"test": name, "value": value}) + "\n")


try:  # strict mode needs pytest-asyncio's decorator; without it a plain fixture will do
    from pytest_asyncio import fixture as async_fixture
except ImportError:
    from pytest import fixture as async_fixture

__all__ = ["async_fixture", "loop_name", "note", "record"]
