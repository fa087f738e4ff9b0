"""SQLite: database files created (as copies of another file, or empty) and removed
with their journal files; ``SqliteFiles`` is the ``servers.Server`` for them."""

from __future__ import annotations

import contextlib
import os
import sqlite3

import pytest

_COMPANIONS = ("", "-journal", "-wal", "-shm")


def create(path: str, template: str | None) -> None:
    """Create the database file ``path``: a copy of ``template`` if given, else empty."""
    target = _connect(path)  # creates the file
    try:
        if template is not None:
            source = _connect(template)
            try:
                source.backup(target)
            finally:
                source.close()
    finally:
        target.close()


def require_directory(path: str) -> None:
    """Before any worker starts: the directory the workers' files go in exists and is
    writable (one error for the run instead of one per test)."""
    directory = os.path.dirname(os.path.abspath(path))
    problem = (
        "does not exist"
        if not os.path.isdir(directory)
        else "is not writable"
        if not os.access(directory, os.W_OK)
        else None
    )
    if problem is not None:
        raise pytest.UsageError(
            f"pytest-green-light could not create the SQLite databases {path!r} and its "
            f"workers' copies: the directory {directory!r} {problem}. Create it, or "
            "point the URL elsewhere."
        )


def remove(path: str) -> None:
    """Remove the database file and the journal files SQLite keeps beside it."""
    for companion in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + companion)


def _connect(path: str) -> sqlite3.Connection:
    try:
        return sqlite3.connect(path)
    except sqlite3.Error as error:
        raise pytest.UsageError(
            f"pytest-green-light could not create the SQLite database {path!r}: "
            f"{error}. Check that its directory exists and is writable."
        ) from None


MARKER_SUFFIX = ".green-light"


class SqliteFiles:
    """The ``servers.Server`` of SQLite: names are file paths."""

    address = "this machine"

    async def exists(self, name: str) -> bool:
        return os.path.exists(name)

    async def require_create(self, name: str, *, also: str = "") -> None:
        return None  # the directory was checked in the xdist controller

    async def require_unused(self, name: str) -> None:
        return None  # a backup copies a file others have open

    async def not_copied(self, name: str) -> str | None:
        return None  # a backup copies everything

    async def create(self, name: str, template: str | None) -> None:
        create(name, template)

    async def drop(self, name: str) -> None:
        remove(name)
        with contextlib.suppress(FileNotFoundError):
            os.remove(name + MARKER_SUFFIX)

    async def mark(self, name: str, marker: str) -> None:
        """Store ``marker`` in a side-car file: SQLite has no database comments."""
        with open(name + MARKER_SUFFIX, "w") as side_car:
            side_car.write(marker)

    async def marker(self, name: str) -> str | None:
        try:
            with open(name + MARKER_SUFFIX) as side_car:
                return side_car.read()
        except FileNotFoundError:
            return None
