"""Who asked for sync IO: the decision for ``sync_io = test`` and its diagnostic.

The caller that decides is the nearest frame outside SQLAlchemy and the standard
library: the line that read the attribute or called the sync method. Installed
applications (say, under tox) are not skipped, so they stay application code.
"""

from __future__ import annotations

import asyncio
import functools
import linecache
import os
import sys
import sysconfig
from collections.abc import Container
from types import FrameType

from pytest_green_light import upstream

APPLICATION_SYNC_IO = """\
{what} needs database IO, and application code asked for it outside greenlet_spawn():
  {where}
In production this raises MissingGreenlet too: pytest-green-light lets sync IO \
through only from test modules and conftest files (green_light_sync_io = test).
Fix the application code: load the data eagerly ({eager}), read the relationship \
with `await obj.awaitable_attrs.<name>` (AsyncAttrs), or run the sync code through \
`await session.run_sync(fn)`.
To allow sync IO from application code in tests anyway: \
@pytest.mark.green_light(sync_io="all"), or green_light_sync_io = all."""


class _Library:
    """Where SQLAlchemy and the standard library live (installed packages are not)."""

    def __init__(self) -> None:
        paths = sysconfig.get_paths()
        sqlalchemy = os.path.dirname(sys.modules["sqlalchemy"].__file__ or "")
        self.sqlalchemy = os.path.join(sqlalchemy, "")
        self.stdlib = tuple(
            os.path.join(paths[key], "") for key in ("stdlib", "platstdlib")
        )
        self.site_packages = tuple(
            os.path.join(paths[key], "") for key in ("purelib", "platlib")
        )

    def __contains__(self, filename: str) -> bool:
        return (
            # "<frozen ...>": standard-library modules frozen into the interpreter
            filename.startswith((self.sqlalchemy, "<"))
            or (
                filename.startswith(self.stdlib)
                and not filename.startswith(self.site_packages)
            )
        )


@functools.cache
def _library() -> _Library:
    """Built on first use: SQLAlchemy is imported by then."""
    return _Library()


def sync_io_allowed(caller: FrameType, test_code: Container[str]) -> bool:
    """Whether the sync IO SQLAlchemy is about to do for ``caller`` may go ahead.

    Refused for application code: SQLAlchemy's await functions get ``MissingGreenlet``
    with a diagnostic (raised here, the awaitable closed as SQLAlchemy would); the
    question ``in_greenlet()`` asks just gets ``False``.
    """
    __tracebackhide__ = True
    library = _library()
    library_frames: list[FrameType] = []
    frame: FrameType | None = caller
    while frame is not None and frame.f_code.co_filename in library:
        library_frames.append(frame)
        frame = frame.f_back
    if frame is not None and frame.f_code.co_filename in test_code:
        return True
    if not upstream.awaiting_call(caller):
        return False
    awaitable = upstream.awaitable_of(caller)
    if asyncio.iscoroutine(awaitable):
        awaitable.close()  # never awaited: closed, as SQLAlchemy does, so it cannot warn
    from sqlalchemy.exc import MissingGreenlet

    error = MissingGreenlet(application_sync_io_message(library_frames, frame))
    error.green_light_diagnosed = True  # type: ignore[attr-defined]
    raise error


def application_sync_io_message(
    library_frames: list[FrameType], trigger: FrameType | None
) -> str:
    attribute = _attribute(library_frames)
    if attribute is not None:
        what = f"Reading {attribute}"
        eager = f"e.g. .options(selectinload({attribute}))"
    else:
        what = _entry_call(library_frames)
        eager = "selectinload / joinedload"
    return APPLICATION_SYNC_IO.format(what=what, where=_where(trigger), eager=eager)


def _attribute(frames: list[FrameType]) -> str | None:
    """``Class.name`` of the ORM attribute whose read needs IO, if that is what it is."""
    for frame in reversed(frames):  # outermost first: the attribute the caller read
        attribute = upstream.orm_attribute_of(frame)
        if attribute is not None:
            return attribute
    return None


def _entry_call(frames: list[FrameType]) -> str:
    """The library call the application made, e.g. ``Session.get()``."""
    if not frames:
        return "A call"
    entry = frames[-1]
    name = entry.f_code.co_name
    owner = entry.f_locals.get("self")
    if owner is not None:
        name = f"{type(owner).__name__}.{name}"
    return f"{name}()"


def _where(frame: FrameType | None) -> str:
    if frame is None:
        return "(no caller outside SQLAlchemy)"
    filename = frame.f_code.co_filename
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive
        shown = filename
    if shown.startswith(".."):
        shown = filename
    line = linecache.getline(filename, frame.f_lineno).strip()
    location = f"{shown}:{frame.f_lineno}, in {frame.f_code.co_name}"
    return f"{location}\n    {line}" if line else location
