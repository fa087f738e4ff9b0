"""Per-worker databases: each worker's URL, and its database created at session start
and dropped at the end (SQLite files and PostgreSQL databases).

A worker's database is *created* by the plugin when the worker's URL differs from the
configured one (under xdist) or names a database that does not exist yet; only then is
it set up through the ``pytest_green_light_setup_database`` hook and dropped at the end.
A database that already exists under the configured name (no xdist) is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import sqlite3
import traceback
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import pytest
from pluggy import HookCaller
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from pytest_green_light.worker import shut_down_loop

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# PostgreSQL's CREATE/DROP DATABASE run from here, never from the database itself.
MAINTENANCE_DATABASE = "postgres"
# PostgreSQL cuts longer identifiers, so gw0 and gw1 could end up with one name.
POSTGRES_MAX_NAME_BYTES = 63
CONNECT_TIMEOUT_SECONDS = 10
_SQLITE_COMPANIONS = ("", "-journal", "-wal", "-shm")
# SQLSTATE "object in use": a template database with open connections.
_OBJECT_IN_USE = "55006"

T = TypeVar("T")


def worker_database_url(url: str | URL, worker_id: str | None) -> str:
    """The database URL for the xdist worker ``worker_id`` (``gw0``, ``gw1``…).

    The database name gets the suffix ``_gw0``…; a SQLite file gets it before its
    extension (``app.db`` → ``app_gw0.db``); ``:memory:`` is already one per process.
    Without a worker id (``None``, or ``master``: no xdist) the URL is returned as given.
    """
    parsed = make_url(url)
    if worker_id in (None, "master") or is_memory(parsed):
        return url if isinstance(url, str) else _render(parsed)
    database = parsed.database
    if not database:
        raise ValueError(
            f"{masked(parsed)} names no database to derive {worker_id}'s database from"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.query.get("uri") in ("true", "1"):
            raise ValueError("SQLite URI filenames (?uri=true) are not supported")
        root, extension = os.path.splitext(database)
        return _render(parsed.set(database=f"{root}_{worker_id}{extension}"))
    return _render(parsed.set(database=f"{database}_{worker_id}"))


def _render(url: URL, *, hide_password: bool = False) -> str:
    return url.render_as_string(hide_password=hide_password)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def masked(url: URL) -> str:
    """The URL as reports show it: the password replaced with ``***``."""
    return _render(url, hide_password=True)


def parse_database_url(raw: str, source: str) -> URL:
    """The configured URL, checked for what can be checked without connecting."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise pytest.UsageError(
            f"pytest-green-light cannot parse the database URL given by {source}. "
            "Expected a SQLAlchemy URL such as "
            "postgresql+asyncpg://user:password@127.0.0.1:5432/app or "
            "sqlite+aiosqlite:///app.db."
        ) from None
    shown = masked(url)
    try:
        # Loads the dialect and imports the driver, without connecting.
        create_async_engine(url)
    except NoSuchModuleError:
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) names a dialect or driver "
            f"SQLAlchemy does not know: {url.drivername!r}. Use an async driver such "
            "as postgresql+asyncpg, postgresql+psycopg or sqlite+aiosqlite."
        ) from None
    except ImportError as error:
        raise pytest.UsageError(
            f"The driver of the database URL {shown} (from {source}) is not "
            f"installed: {error}. Install it into the environment pytest runs in."
        ) from None
    except SQLAlchemyError as error:
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) cannot be used with "
            f"SQLAlchemy's asyncio extension: {_message(error, url)}"
        ) from None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise pytest.UsageError(
            f"pytest-green-light creates per-worker databases for SQLite and "
            f"PostgreSQL; {shown} (from {source}) is {url.get_backend_name()}."
        )
    if url.get_backend_name() == "postgresql" and not url.database:
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) names no database; each "
            "worker's database is named after it (app_gw0, app_gw1…). Add one: "
            f"{masked(url.set(database='app'))}."
        )
    return url


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception, not SQLAlchemy's wrapper around it."""
    original: BaseException = getattr(error, "orig", None) or error
    return original


def _message(error: BaseException, url: URL) -> str:
    """The driver's own message, password masked."""
    original = _driver_error(error)
    message = f"{type(original).__name__}: {original}".strip()
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def _sqlstate(error: BaseException) -> str | None:
    original = _driver_error(error)
    for name in ("sqlstate", "pgcode"):  # psycopg, asyncpg through SQLAlchemy
        value = getattr(original, name, None)
        if isinstance(value, str):
            return value
    return None


def run_privately(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, leaving the thread's current loop alone."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        shut_down_loop(loop)


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
                    f"{_message(error, self.url)}\nCheck that the server is running and "
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
            if _sqlstate(error) == _OBJECT_IN_USE:
                why = "\n" + _template_in_use(str(template))
            raise pytest.UsageError(
                f"pytest-green-light could not create the database {name!r} on "
                f"{self.address}: {_message(error, self.url)}{why}"
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


class WorkerDatabase:
    """One worker's database, from its creation at session start to its drop."""

    def __init__(
        self, base_url: URL, worker_id: str, *, keep: bool, setup_hook: HookCaller
    ) -> None:
        self.base_url = base_url
        self.setup_hook = setup_hook
        self.worker_id = worker_id
        self.url = make_url(worker_database_url(base_url, worker_id))
        self.keep = keep
        self.in_memory = is_memory(base_url)
        self.created = False

    @property
    def name(self) -> str:
        return str(self.url.database)

    @property
    def own_copy(self) -> bool:
        """Whether this worker has a database of its own (under xdist)."""
        return self.url != self.base_url

    async def set_up(self) -> None:
        """Create the database if this worker needs one, then run the setup hook.

        Raises ``pytest.UsageError`` with a message for the user.
        """
        if self.in_memory:  # nothing to create: the engine's one connection holds it
            return
        if self.base_url.get_backend_name() == "postgresql":
            await self._set_up_postgres()
        else:
            self._set_up_sqlite()
        if not self.created:
            return
        engine = self.create_engine(pool=False)
        try:
            try:
                await self.run_setup_hook(engine)
            finally:
                await engine.dispose()
        except BaseException:
            await self.tear_down()  # this session will not finish: drop it now
            raise

    async def run_setup_hook(self, engine: AsyncEngine) -> None:
        """Await every ``pytest_green_light_setup_database`` implementation in turn."""
        try:
            for result in self.setup_hook(engine=engine, worker_id=self.worker_id):
                if inspect.isawaitable(result):
                    await result
        except Exception as error:
            details = "".join(
                traceback.format_exception(type(error), error, error.__traceback__)
            )
            raise pytest.UsageError(
                f"pytest_green_light_setup_database failed for {masked(self.url)} "
                f"(worker {self.worker_id}):\n{details}"
            ) from None

    async def _set_up_postgres(self) -> None:
        name = self.name
        require_name_fits(name)  # a worker replaced more often than foreseen
        server = PostgresServer(self.url)
        base = str(self.base_url.database)
        async with server.admin() as connection:
            base_exists = await server.exists(connection, base)
            if base_exists and not self.own_copy:
                return  # the URL's own database, used as it is
            await server.require_createdb(connection, repr(name))
            if self.own_copy:
                await server.drop(connection, name)  # a crashed run's leftover
            # A worker's copy of the URL's database when there is one, else empty.
            await server.create(connection, name, base if base_exists else None)
            self.created = True

    def _set_up_sqlite(self) -> None:
        path = self.name
        base = str(self.base_url.database)
        base_exists = os.path.exists(base)
        if base_exists and not self.own_copy:
            return  # the URL's own database, used as it is
        if self.own_copy:
            _remove_sqlite_file(path)  # a crashed run's leftover
        target = _open_sqlite(path)  # creates the file
        try:
            # A worker's copy of the URL's database when there is one, else empty.
            if base_exists:
                source = _open_sqlite(base)
                try:
                    source.backup(target)
                finally:
                    source.close()
        finally:
            target.close()
        self.created = True

    async def tear_down(self) -> None:
        if not self.created or self.keep:
            return
        if self.base_url.get_backend_name() == "postgresql":
            server = PostgresServer(self.url)
            async with server.admin() as connection:
                await server.drop(connection, self.name)
        else:
            _remove_sqlite_file(self.name)

    def create_engine(self, *, pool: bool = True) -> AsyncEngine:
        """An engine on this worker's database; without a pool, every checkout connects
        on the loop running at the time (for tests with a loop of their own)."""
        if pool or self.in_memory:  # an in-memory database lives in its one connection
            return create_async_engine(self.url)
        return create_async_engine(self.url, poolclass=NullPool)


def _open_sqlite(path: str) -> sqlite3.Connection:
    try:
        return sqlite3.connect(path)
    except sqlite3.Error as error:
        raise pytest.UsageError(
            f"pytest-green-light could not create the SQLite database {path!r}: "
            f"{error}. Check that its directory exists and is writable."
        ) from None


def _remove_sqlite_file(path: str) -> None:
    for companion in _SQLITE_COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + companion)
