"""MySQL and MariaDB: databases created and dropped through a connection to the server
(no database), and copied table by table: neither server copies a database whole."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from pytest_green_light.database.driver_errors import driver_message
from pytest_green_light.database.servers import DatabaseServer
from pytest_green_light.database.url import without

# Where the template's marker is kept: MySQL has no database comments. Not copied.
MARKER_TABLE = "_green_light_template"
# What a table-by-table copy would lose.
_NOT_COPIED = {
    "triggers": "SELECT count(*) FROM information_schema.TRIGGERS "
    "WHERE TRIGGER_SCHEMA = :name",
    "stored routines": "SELECT count(*) FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA = :name",
    "events": "SELECT count(*) FROM information_schema.EVENTS "
    "WHERE EVENT_SCHEMA = :name",
}


class MysqlServer(DatabaseServer):
    """CREATE and DROP DATABASE on the MySQL or MariaDB server a URL points at
    (``servers.Server``), through a connection to no database (``connected()``)."""

    KIND = "MySQL/MariaDB"
    DEFAULT_PORT = 3306

    def admin_url(self) -> URL:
        return without(self.url, "database")

    async def _execute(self, statement: str) -> Any:
        """Run a statement as written: the drivers %-format every statement, so each %
        (a name's, a view's ``DEFINER=`user`@`%```) is doubled."""
        return await self.connection.exec_driver_sql(statement.replace("%", "%%"))

    @staticmethod
    def _quote(name: str) -> str:
        """A quoted identifier, always: names come from the URL and may hold anything.
        As written (the dialect's own quoting doubles % for the driver already)."""
        return "`" + name.replace("`", "``") + "`"

    async def _privileges(self, name: str) -> set[str]:
        """The privileges the current user holds on the database ``name``: global
        ones and those granted on databases whose pattern (``app\\_%``) matches."""
        grantee = await self.connection.scalar(
            text(
                "SELECT CONCAT(\"'\", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
                "\"'@'\", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), \"'\")"
            )
        )
        rows = await self.connection.execute(
            text(
                "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
                "WHERE GRANTEE = :grantee UNION SELECT PRIVILEGE_TYPE FROM "
                "information_schema.SCHEMA_PRIVILEGES "
                "WHERE GRANTEE = :grantee AND :name LIKE TABLE_SCHEMA"
            ),
            {"grantee": grantee, "name": name},
        )
        return {str(row[0]) for row in rows}

    async def require_create(self, name: str, *, also: str = "") -> None:
        missing = {"CREATE", "DROP"} - await self._privileges(name)
        if missing:
            user = self.url.username or "(the default user)"
            raise pytest.UsageError(
                f"The MySQL/MariaDB user {user!r} on {self.address} lacks the "
                f"{' and '.join(sorted(missing))} privilege on {name!r}{also}, which "
                "pytest-green-light needs to create and drop the workers' databases. "
                f"Grant it with `GRANT ALL ON {self._pattern(name)}.* TO {user};`, or "
                "use a user that has it."
            )

    def _pattern(self, name: str) -> str:
        """The grant pattern for the URL's database and its workers' copies."""
        base = name.rsplit("_", 1)[0] if "_" in name else name
        return "`" + base.replace("_", "\\_") + "%`"

    async def exists(self, name: str) -> bool:
        found = await self.connection.scalar(
            text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"),
            {"name": name},
        )
        return found is not None

    async def require_unused(self, name: str) -> None:
        return None  # tables are copied with SELECTs, which others do not block

    async def not_copied(self, name: str) -> str | None:
        """What a copy of ``name`` would lose (its triggers, routines, events), if any."""
        lost = [
            kind
            for kind, query in _NOT_COPIED.items()
            if await self.connection.scalar(text(query), {"name": name})
        ]
        return ", ".join(lost) or None

    async def create(self, name: str, template: str | None) -> None:
        try:
            await self._create(name, template)
        except SQLAlchemyError as error:
            raise pytest.UsageError(
                f"pytest-green-light could not create the database {name!r} on "
                f"{self.address}: {driver_message(error, self.url)}"
            ) from None

    async def _create(self, name: str, template: str | None) -> None:
        quoted = self._quote(name)
        if template is None:
            await self._execute(f"CREATE DATABASE {quoted}")
            return
        source = self._quote(template)
        charset, collation = (
            await self.connection.execute(
                text(
                    "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
                    "information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"
                ),
                {"name": template},
            )
        ).one()
        await self._execute(
            f"CREATE DATABASE {quoted} CHARACTER SET {charset} COLLATE {collation}"
        )
        # Tables in any order (their foreign keys are checked by neither copy nor
        # INSERT), each created as SHOW CREATE TABLE says, then views.
        await self._execute("SET SESSION FOREIGN_KEY_CHECKS = 0")
        await self._execute(f"USE {quoted}")
        try:
            tables = await self._names(template, "BASE TABLE")
            for table in tables:
                ddl = await self._show_create("TABLE", source, table)
                await self._execute(ddl)
                columns = await self._stored_columns(template, table)
                if columns:
                    await self._execute(
                        f"INSERT INTO {self._quote(table)} ({columns}) "
                        f"SELECT {columns} FROM {source}.{self._quote(table)}"
                    )
            for view in await self._names(template, "VIEW"):
                ddl = await self._show_create("VIEW", source, view)
                # A view names its tables qualified with the template's name.
                await self._execute(ddl.replace(f"{source}.", f"{quoted}."))
        finally:
            await self._execute("SET SESSION FOREIGN_KEY_CHECKS = 1")

    async def _names(self, schema: str, kind: str) -> list[str]:
        rows = await self.connection.execute(
            text(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
                "TABLE_SCHEMA = :schema AND TABLE_TYPE = :kind AND TABLE_NAME <> :marker "
                "ORDER BY TABLE_NAME"
            ),
            {"schema": schema, "kind": kind, "marker": MARKER_TABLE},
        )
        return [str(row[0]) for row in rows]

    async def _show_create(self, kind: str, source: str, name: str) -> str:
        result = await self._execute(f"SHOW CREATE {kind} {source}.{self._quote(name)}")
        return str(result.scalars(1).one())  # (name, statement)

    async def _stored_columns(self, schema: str, table: str) -> str:
        """The table's columns but the generated ones, which take no values."""
        rows = await self.connection.execute(
            text(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                "TABLE_SCHEMA = :schema AND TABLE_NAME = :table AND "
                "EXTRA NOT LIKE '%GENERATED%' AND "
                "EXTRA NOT IN ('VIRTUAL', 'PERSISTENT', 'STORED') "
                "ORDER BY ORDINAL_POSITION"
            ),
            {"schema": schema, "table": table},
        )
        return ", ".join(self._quote(str(row[0])) for row in rows)

    async def drop(self, name: str) -> None:
        await self._execute(f"DROP DATABASE IF EXISTS {self._quote(name)}")

    async def mark(self, name: str, marker: str) -> None:
        """Store ``marker`` in a one-row table of the template, which copies skip."""
        table = f"{self._quote(name)}.{self._quote(MARKER_TABLE)}"
        await self._execute(f"CREATE TABLE {table} (marker TEXT NOT NULL)")
        await self.connection.execute(
            text(f"INSERT INTO {table} (marker) VALUES (:marker)"), {"marker": marker}
        )

    async def marker(self, name: str) -> str | None:
        table = await self.connection.scalar(
            text(
                "SELECT 1 FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :name AND TABLE_NAME = :marker"
            ),
            {"name": name, "marker": MARKER_TABLE},
        )
        if table is None:
            return None
        found = await self.connection.scalar(
            text(f"SELECT marker FROM {self._quote(name)}.{self._quote(MARKER_TABLE)}")
        )
        return None if found is None else str(found)
