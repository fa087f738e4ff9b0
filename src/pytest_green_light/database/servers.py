"""The servers per-worker databases live on, behind one interface.

``open_server(url)`` yields a ``Server`` for the URL's backend: ``PostgresServer``
(``postgresql.py``), ``SqliteFiles`` (``sqlite.py``) or ``MysqlServer``
(``mysql.py``). Names are database names (file paths for SQLite).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from pytest_green_light.database.driver_errors import driver_message
from pytest_green_light.database.url import masked


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


class DatabaseServer:
    """What PostgreSQL's and MySQL's ``Server`` share: ``connected()``, a connection
    to the server outside any transaction, for CREATE and DROP DATABASE."""

    KIND = ""  # as messages name the server
    DEFAULT_PORT = 0
    CONNECT_TIMEOUT_SECONDS = 10

    def __init__(self, url: URL) -> None:
        self.url = url
        self.address = f"{url.host or 'localhost'}:{url.port or self.DEFAULT_PORT}"
        self._connection: AsyncConnection | None = None

    def admin_url(self) -> URL:
        """The URL connected to: the server's, without the workers' database."""
        raise NotImplementedError

    def connect_args(self) -> dict[str, Any]:
        return {"connect_timeout": self.CONNECT_TIMEOUT_SECONDS}

    @property
    def connection(self) -> AsyncConnection:
        assert self._connection is not None, "used inside connected() only"
        return self._connection

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[Any]:
        admin_url = self.admin_url()
        engine = create_async_engine(
            admin_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args=self.connect_args(),
        )
        try:
            try:
                self._connection = await engine.connect()
            except Exception as error:
                raise pytest.UsageError(
                    f"pytest-green-light could not connect to the {self.KIND} server "
                    f"at {self.address} (as {masked(admin_url)}): "
                    f"{driver_message(error, self.url)}\nCheck that the server is "
                    "running and that the URL's host, port, user and password are right."
                ) from None
            try:
                yield self
            finally:
                await self._connection.close()
                self._connection = None
        finally:
            await engine.dispose()


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


async def check_server(url: URL) -> None:
    """Before any worker starts, where no template is built: the server answers and
    lets the plugin create the workers' databases (one error, not one per worker)."""
    base = str(url.database)
    async with open_server(url) as server:
        await server.require_create(f"{base}_gw0", also=f", {base}_gw1...")
