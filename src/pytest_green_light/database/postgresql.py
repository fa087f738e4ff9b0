"""PostgreSQL: databases created (copies with ``CREATE DATABASE … TEMPLATE``), marked
with a database comment, and dropped."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from pytest_green_light.database.driver_errors import driver_message, sqlstate
from pytest_green_light.database.servers import DatabaseServer

# CREATE/DROP DATABASE run from here, never from the database itself.
MAINTENANCE_DATABASE = "postgres"
# SQLSTATE "object in use": a template database with open connections.
_OBJECT_IN_USE = "55006"
# SQLSTATE "insufficient privilege": copying a database one does not own.
_INSUFFICIENT_PRIVILEGE = "42501"


class PostgresServer(DatabaseServer):
    """CREATE and DROP DATABASE on the server a URL points at (``servers.Server``),
    through a connection to its maintenance database (``connected()``)."""

    KIND = "PostgreSQL"
    DEFAULT_PORT = 5432

    def admin_url(self) -> URL:
        return self.url.set(database=MAINTENANCE_DATABASE)

    def connect_args(self) -> dict[str, Any]:
        if self.url.get_driver_name() == "asyncpg":
            return {"timeout": self.CONNECT_TIMEOUT_SECONDS}
        return super().connect_args()

    def _quote(self, name: str) -> str:
        """A quoted identifier, always: names come from the URL and may hold anything."""
        return self.connection.dialect.identifier_preparer.quote_identifier(name)

    async def require_create(self, name: str, *, also: str = "") -> None:
        allowed = await self.connection.scalar(
            text(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles "
                "WHERE rolname = current_user"
            )
        )
        if not allowed:
            user = self.url.username or "(the default user)"
            raise pytest.UsageError(
                f"The PostgreSQL role {user!r} on {self.address} may not create "
                f"databases, and pytest-green-light needs to create {name!r}{also}. Grant it "
                f"with `ALTER ROLE {self._quote(user)} CREATEDB;`, or use a role that may."
            )

    async def exists(self, name: str) -> bool:
        found = await self.connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        return found is not None

    async def not_copied(self, name: str) -> str | None:
        return None  # CREATE DATABASE … TEMPLATE copies everything

    async def create(self, name: str, template: str | None) -> None:
        statement = f"CREATE DATABASE {self._quote(name)}"
        if template is not None:
            statement += f" TEMPLATE {self._quote(template)}"
        try:
            await self.connection.exec_driver_sql(statement)
        except SQLAlchemyError as error:
            why = ""
            if sqlstate(error) == _OBJECT_IN_USE:
                why = "\n" + _template_in_use(str(template))
            elif sqlstate(error) == _INSUFFICIENT_PRIVILEGE and template is not None:
                why = "\n" + _may_not_copy(str(template), self.url.username)
            raise pytest.UsageError(
                f"pytest-green-light could not create the database {name!r} on "
                f"{self.address}: {driver_message(error, self.url)}{why}"
            ) from None

    async def require_unused(self, name: str) -> None:
        """The database has no connections, so it can be copied."""
        others = await self.connection.scalar(
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

    async def drop(self, name: str) -> None:
        # FORCE (PostgreSQL 13+) ends connections left behind, a crashed run's too.
        force = (self.connection.dialect.server_version_info or (0,)) >= (13,)
        await self.connection.exec_driver_sql(
            f"DROP DATABASE IF EXISTS {self._quote(name)}"
            + (" WITH (FORCE)" if force else "")
        )

    async def mark(self, name: str, marker: str) -> None:
        """Store ``marker`` with the database: its comment, which is not copied with
        it (a table would be, into every worker's schema)."""
        literal = marker.replace("'", "''")
        await self.connection.exec_driver_sql(
            f"COMMENT ON DATABASE {self._quote(name)} IS '{literal}'"
        )

    async def marker(self, name: str) -> str | None:
        found = await self.connection.scalar(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": name},
        )
        return None if found is None else str(found)


def _may_not_copy(template: str, user: str | None) -> str:
    return (
        f"PostgreSQL lets a role copy the database {template!r} only if it owns it (or "
        "is a superuser, or the database is marked a template): "
        f'`ALTER DATABASE "{template}" OWNER TO "{user}";`, or let '
        "pytest-green-light build the workers' databases from empty ones."
    )


def _template_in_use(template: str) -> str:
    return (
        f"PostgreSQL copies the database {template!r} only while nobody is connected "
        "to it: close its other connections (psql, a development server) and run again."
    )
