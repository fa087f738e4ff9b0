"""SQLite: a worker's database file created (a copy of the URL's file when there is
one) and removed with its journal files."""

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
