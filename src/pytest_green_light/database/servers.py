"""The servers per-worker databases live on, behind one interface.

``open_server(url)`` yields a ``Server`` for the URL's backend: ``PostgresServer``
(``postgresql.py``), ``SqliteFiles`` (``sqlite.py``) or ``MysqlServer``
(``mysql.py``). Names are database names (file paths for SQLite).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from sqlalchemy.engine import URL


class Server(Protocol):
    address: str

    async def exists(self, name: str) -> bool: ...

    async def require_create(self, name: str, *, also: str = "") -> None:
        """A usage error unless the plugin may create (and drop) the database
        ``name``; ``also`` names the others the message should mention."""

    async def require_unused(self, name: str) -> None:
        """A usage error while others are connected to ``name`` (no copy then)."""

    async def not_copied(self, name: str) -> str | None:
        """What a copy of ``name`` would lose, if anything: then workers set up
        databases of their own."""

    async def create(self, name: str, template: str | None) -> None:
        """Create ``name``, a copy of ``template`` if given, else empty."""

    async def drop(self, name: str) -> None:
        """Drop ``name`` if it exists."""

    async def mark(self, name: str, marker: str) -> None:
        """Store ``marker`` with ``name``, not copied with it."""

    async def marker(self, name: str) -> str | None: ...


@contextlib.asynccontextmanager
async def open_server(url: URL) -> AsyncIterator[Server]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        from pytest_green_light.database.sqlite import SqliteFiles

        yield SqliteFiles()
    elif backend == "postgresql":
        from pytest_green_light.database.postgresql import PostgresServer

        async with PostgresServer(url).connected() as server:
            yield server
    else:
        from pytest_green_light.database.mysql import MysqlServer

        async with MysqlServer(url).connected() as server:
            yield server
