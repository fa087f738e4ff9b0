"""PostgreSQL: the server checked before any worker starts, and each worker's
database created (a copy of the URL's database when there is one) and dropped."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from pytest_green_light.database.driver_errors import driver_message, sqlstate
from pytest_green_light.database.url import masked

# CREATE/DROP DATABASE run from here, never from the database itself.
MAINTENANCE_DATABASE = "postgres"
# PostgreSQL cuts longer identifiers, so gw0 and gw1 could end up with one name.
POSTGRES_MAX_NAME_BYTES = 63
CONNECT_TIMEOUT_SECONDS = 10
# SQLSTATE "object in use": a template database with open connections.
_OBJECT_IN_USE = "55006"


class PostgresServer:
    """CREATE and DROP DATABASE on the server a URL points at."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.address = f"{url.host or 'localhost'}:{url.port or 5432}"

    def _connect_args(self) -> dict[str, Any]:
        if self.url.get_driver_name() == "asyncpg":
            return {"timeout": CONNECT_TIMEOUT_SECONDS}
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}

    @contextlib.asynccontextmanager
    async def admin(self) -> AsyncIterator[AsyncConnection]:
        """A connection to the maintenance database, outside any transaction."""
        admin_url = self.url.set(database=MAINTENANCE_DATABASE)
        engine = create_async_engine(
            admin_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args=self._connect_args(),
        )
        try:
            try:
                connection = await engine.connect()
            except Exception as error:
                raise pytest.UsageError(
                    f"pytest-green-light could not connect to the PostgreSQL server at "
                    f"{self.address} (as {masked(admin_url)}): "
                    f"{driver_message(error, self.url)}\nCheck that the server is running and "
                    "that the URL's host, port, user and password are right."
                ) from None
            try:
                yield connection
            finally:
                await connection.close()
        finally:
            await engine.dispose()

    async def require_createdb(self, connection: AsyncConnection, name: str) -> None:
        allowed = await connection.scalar(
            text(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles "
                "WHERE rolname = current_user"
            )
        )
        if not allowed:
            user = self.url.username or "(the default user)"
            quoted = _quote(connection, user)
            raise pytest.UsageError(
                f"The PostgreSQL role {user!r} on {self.address} may not create "
                f"databases, and pytest-green-light needs to create {name}. Grant it "
                f"with `ALTER ROLE {quoted} CREATEDB;`, or use a role that may."
            )

    @staticmethod
    async def exists(connection: AsyncConnection, name: str) -> bool:
        found = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        return found is not None

    async def create(
        self, connection: AsyncConnection, name: str, template: str | None
    ) -> None:
        statement = f"CREATE DATABASE {_quote(connection, name)}"
        if template is not None:
            statement += f" TEMPLATE {_quote(connection, template)}"
        try:
            await connection.exec_driver_sql(statement)
        except SQLAlchemyError as error:
            why = ""
            if sqlstate(error) == _OBJECT_IN_USE:
                why = "\n" + _template_in_use(str(template))
            raise pytest.UsageError(
                f"pytest-green-light could not create the database {name!r} on "
                f"{self.address}: {driver_message(error, self.url)}{why}"
            ) from None

    async def require_unused(self, connection: AsyncConnection, name: str) -> None:
        """The template database has no connections, so it can be copied."""
        others = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        if others:
            raise pytest.UsageError(
                f"pytest-green-light cannot copy the database {name!r} on "
                f"{self.address} for the workers: {others} other connection(s) to it "
                f"are open.\n{_template_in_use(name)}"
            )

    async def drop(self, connection: AsyncConnection, name: str) -> None:
        # FORCE (PostgreSQL 13+) ends connections left behind, a crashed run's too.
        force = (connection.dialect.server_version_info or (0,)) >= (13,)
        await connection.exec_driver_sql(
            f"DROP DATABASE IF EXISTS {_quote(connection, name)}"
            + (" WITH (FORCE)" if force else "")
        )


def _template_in_use(template: str) -> str:
    return (
        f"PostgreSQL copies the database {template!r} only while nobody is connected "
        "to it: close its other connections (psql, a development server) and run again."
    )


def _quote(connection: AsyncConnection, name: str) -> str:
    """A quoted identifier, always: names come from the URL and may hold anything."""
    return connection.dialect.identifier_preparer.quote_identifier(name)


def require_name_fits(name: str) -> None:
    if len(name.encode()) > POSTGRES_MAX_NAME_BYTES:
        raise pytest.UsageError(
            f"The database name {name!r} is longer than PostgreSQL's "
            f"{POSTGRES_MAX_NAME_BYTES} bytes, so workers' names would collide. "
            "Use a shorter database name in the URL."
        )


def require_worker_names_fit(url: URL, highest_worker: int) -> None:
    """Up front, in the xdist controller: every worker's PostgreSQL database name
    fits (gw0 up to ``gw{highest_worker}``, replaced workers included)."""
    if url.get_backend_name() == "postgresql":
        require_name_fits(f"{url.database}_gw{highest_worker}")


async def check_server(url: URL) -> None:
    """Before any worker starts: the server is reachable and lets us create databases."""
    if url.get_backend_name() != "postgresql":
        return
    server = PostgresServer(url)
    base = str(url.database)
    async with server.admin() as connection:
        await server.require_createdb(connection, f"{base}_gw0, _gw1...")
        if await server.exists(connection, base):
            await server.require_unused(connection, base)
