"""Per-worker databases on real SQLite files and a real PostgreSQL server.

The PostgreSQL server is the one scripts/test starts (GREEN_LIGHT_TEST_PG_URL); every
test uses database names of its own, so the outer run's workers never share one.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

# Imported once, here: pytester restores sys.modules after each test, and a dialect
# imported again registers its SQL functions again, with a warning.
import sqlalchemy.dialects.postgresql.psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from conftest import (
    AS_GIVEN,
    DRIVERS,
    HAS_PYTEST_ASYNCIO,
    USUAL_DRIVER,
    Inner,
    case,
    usual_only,
)
from pytest_green_light import worker_database_url
from pytest_green_light.database.url import parse_database_url

INNER_CONFTEST = """
import os
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from facts import record


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(50))


async def pytest_green_light_setup_database(engine, worker_id):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(sa.insert(Note).values(text=f"seeded for {worker_id}"))
    record("hook", worker_id=worker_id, url=engine.url.render_as_string(False))


async def current_database(session):
    if session.bind.dialect.name == "sqlite":
        rows = (await session.execute(sa.text("PRAGMA database_list"))).all()
        return os.path.basename(rows[0][2]) or ":memory:"
    if session.bind.dialect.name == "mysql":
        return await session.scalar(sa.text("SELECT DATABASE()"))
    return await session.scalar(sa.text("SELECT current_database()"))
"""

COMMITS = 20  # enough for both workers to run several, one after another
COMMITTING_TESTS = """
import pytest
import sqlalchemy as sa
from conftest import Note, current_database
from facts import record

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("n", range({commits}))
async def test_commit(green_light_session, green_light_db_url, n):
    green_light_session.add(Note(text=f"note {n}"))
    await green_light_session.commit()
    green_light_session.add(Note(text="rolled back"))
    await green_light_session.flush()
    await green_light_session.rollback()
    texts = (await green_light_session.scalars(sa.select(Note.text).order_by(Note.id))).all()
    record(
        "test",
        n=n,
        url=green_light_db_url,
        database=await current_database(green_light_session),
        texts=list(texts),
    )
""".replace("{commits}", str(COMMITS))


class PgAdmin:
    """Looks at and changes the test server directly (psycopg, sync, autocommit)."""

    SYNC_DRIVER = "postgresql+psycopg"
    MAINTENANCE = "postgres"

    def __init__(self, url: URL) -> None:
        self.url = url
        self.prefixes: list[str] = []  # of the databases tests asked for, to drop
        self.engine = sa.create_engine(
            self.at(url.set(drivername=self.SYNC_DRIVER), self.MAINTENANCE),
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
        )

    LIST = "SELECT datname FROM pg_database"

    @staticmethod
    def at(url: URL, database: str | None) -> URL:
        return URL.create(**{**url._asdict(), "database": database})

    def databases(self, prefix: str) -> set[str]:
        with self.engine.connect() as conn:
            names = conn.scalars(sa.text(self.LIST)).all()
        return {name for name in names if name.startswith(prefix)}

    def execute(self, statement: str, database: str | None = None) -> None:
        engine = sa.create_engine(
            self.at(self.engine.url, database or self.MAINTENANCE),
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
        )
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
        engine.dispose()

    def quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    def drop(self, name: str) -> None:
        self.execute(f"DROP DATABASE {self.quote(name)} WITH (FORCE)")

    def clean_up(self) -> None:
        """What a test left on purpose (a template, kept databases) or by failing."""
        for prefix in self.prefixes:
            for name in self.databases(prefix):
                self.drop(name)
        self.engine.dispose()


class MysqlAdmin(PgAdmin):
    """The same for the MariaDB server (PyMySQL, which aiomysql brings)."""

    SYNC_DRIVER = "mysql+pymysql"
    MAINTENANCE = None  # type: ignore[assignment]
    LIST = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"

    def drop(self, name: str) -> None:
        self.execute(f"DROP DATABASE {self.quote(name)}")


@pytest.fixture
def pg_admin(pg_url: URL) -> Iterator[PgAdmin]:
    admin = PgAdmin(pg_url)
    yield admin
    admin.clean_up()


@pytest.fixture
def mysql_admin(mysql_url: URL) -> Iterator[PgAdmin]:
    admin = MysqlAdmin(mysql_url)
    yield admin
    admin.clean_up()


class Backend:
    """Where an inner run's databases live, and what exists there."""

    def __init__(self, name: str, base_url: URL, pg_admin: PgAdmin | None) -> None:
        self.name = name
        self.base_url = base_url
        self.pg_admin = pg_admin  # the server's, where it is not SQLite

    @property
    def option(self) -> str:
        return f"--green-light-db-url={self.base_url.render_as_string(False)}"

    def database_name(self, worker: str) -> str:
        url = make_url(worker_database_url(self.base_url, worker))
        return os.path.basename(str(url.database))

    @property
    def per_worker_set_up(self) -> bool:
        """Whether, without reuse, each worker runs the set-up hook (MySQL/MariaDB)."""
        return isinstance(self.pg_admin, MysqlAdmin)

    def kept_template(self) -> set[str]:
        """What a kept template is: its database, and its SQLite marker file."""
        name = self.database_name("template")
        return {name} if self.pg_admin is not None else {name, f"{name}.green-light"}

    def existing(self) -> set[str]:
        """This test's databases that exist now: the base one and any worker's."""
        base = str(self.base_url.database)
        if self.pg_admin is not None:
            return self.pg_admin.databases(base)
        directory, stem = os.path.split(os.path.splitext(base)[0])
        return {p.name for p in Path(directory).glob(f"{stem}*")}


def make_backend(
    name: str, pytester: pytest.Pytester, pg_admin: PgAdmin | None, database: str = ""
) -> Backend:
    database = database or f"gl_{uuid.uuid4().hex[:10]}"
    if name == "sqlite":
        url = make_url("sqlite+aiosqlite://").set(
            database=str(pytester.path / f"{database}.db")
        )
        return Backend(name, url, None)
    assert pg_admin is not None
    pg_admin.prefixes.append(database)
    dialect = "mysql" if isinstance(pg_admin, MysqlAdmin) else "postgresql"
    return Backend(
        name,
        pg_admin.url.set(drivername=f"{dialect}+{name}", database=database),
        pg_admin,
    )


BACKENDS = ["sqlite", "asyncpg", "psycopg"]
MYSQL_DRIVERS = ("aiomysql", "asyncmy")


def server_admin(request: pytest.FixtureRequest, backend: str) -> PgAdmin | None:
    if backend == "sqlite":
        return None
    return request.getfixturevalue(
        "mysql_admin" if backend in MYSQL_DRIVERS else "pg_admin"
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Backend:
    return make_backend(request.param, pytester, server_admin(request, request.param))


@pytest.fixture
def pg_backend(pytester: pytest.Pytester, pg_admin: PgAdmin) -> Backend:
    return make_backend("asyncpg", pytester, pg_admin)


@pytest.fixture
def db_inner(inner: Inner) -> Inner:
    inner.pytester.makeconftest(INNER_CONFTEST)
    return inner


def facts_by_kind(inner: Inner) -> dict[str, list[dict[str, object]]]:
    kinds: dict[str, list[dict[str, object]]] = defaultdict(list)
    for fact in inner.facts():
        kinds[str(fact["test"])].append(fact)
    return kinds


# -- worker_database_url ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "worker_id", "expected"),
    [
        (
            "postgresql+asyncpg://u:pw@h:5432/app",
            "gw0",
            "postgresql+asyncpg://u:pw@h:5432/app_gw0",
        ),
        (
            "postgresql+psycopg://u@h/app?sslmode=disable",
            "gw12",
            "postgresql+psycopg://u@h/app_gw12?sslmode=disable",
        ),
        ("postgresql+asyncpg://u:pw@h/app", None, "postgresql+asyncpg://u:pw@h/app"),
        (
            "postgresql+asyncpg://u:pw@h/app",
            "master",
            "postgresql+asyncpg://u:pw@h/app",
        ),
        (
            "sqlite+aiosqlite:///data/app.db",
            "gw1",
            "sqlite+aiosqlite:///data/app_gw1.db",
        ),
        (
            "sqlite+aiosqlite:////abs/app.sqlite3",
            "gw1",
            "sqlite+aiosqlite:////abs/app_gw1.sqlite3",
        ),
        ("sqlite+aiosqlite:///app", "gw1", "sqlite+aiosqlite:///app_gw1"),
        ("sqlite+aiosqlite:///:memory:", "gw1", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+aiosqlite://", "gw1", "sqlite+aiosqlite://"),
    ],
)
def test_worker_database_url(url: str, worker_id: str | None, expected: str) -> None:
    assert worker_database_url(url, worker_id) == expected


def test_worker_database_url_keeps_every_character_of_the_name() -> None:
    base = URL.create("postgresql+asyncpg", "u", "p:@/w", "h", None, "we\"ird; name'--")
    derived = make_url(worker_database_url(base, "gw3"))
    assert derived.database == "we\"ird; name'--_gw3"
    assert derived.password == "p:@/w"


def test_worker_database_url_needs_a_database_name() -> None:
    with pytest.raises(ValueError, match="names no database"):
        worker_database_url("postgresql+asyncpg://u:secret@h", "gw0")


# -- each worker its own database, rolled back ------------------------------------


def check_isolation(inner: Inner, backend: Backend, workers: set[str]) -> None:
    facts = facts_by_kind(inner)
    assert {str(fact["worker"]) for fact in facts["test"]} == workers
    # The hook ran once: under xdist on the template the workers' databases are
    # copies of (in the controller), else on the database itself. MySQL: per worker.
    seeded = dict.fromkeys(workers - {"master"}, "template")
    if backend.per_worker_set_up or workers == {"master"}:
        seeded = {worker: worker for worker in workers}
    hooks = {str(f["worker_id"]): f["url"] for f in facts["hook"]}
    assert sorted(hooks) == sorted(set(seeded.values()))
    for name, url in hooks.items():
        assert url == worker_database_url(backend.base_url, name)
    for fact in facts["test"]:
        worker = str(fact["worker"])
        assert fact["url"] == worker_database_url(backend.base_url, worker)
        assert fact["database"] == backend.database_name(worker)
        # Only this worker's seed row and this test's own commit: every earlier
        # test's commit was rolled back, and session.rollback() undid its last row.
        assert fact["texts"] == [f"seeded for {seeded[worker]}", f"note {fact['n']}"]
    assert backend.existing() == set(), "created databases are dropped at the end"


@pytest.mark.compat
# Every driver on SQLite (green_light_session is declared for the one driving the
# tests); PostgreSQL's and MySQL's drivers with the usual one.
@pytest.mark.parametrize(
    ("backend", "driver"),
    [("sqlite", driver) for driver in sorted(DRIVERS)]
    + [(name, USUAL_DRIVER) for name in ("asyncpg", "psycopg", "aiomysql")]
    + [case("asyncmy", USUAL_DRIVER, usual=False)],
    indirect=["backend"],
)
def test_each_worker_sees_only_its_database_and_commits_are_rolled_back(
    db_inner: Inner, backend: Backend, driver: str
) -> None:
    db_inner.driver, db_inner.distribution = driver, "n2"
    db_inner.pytester.makepyfile(test_commits=COMMITTING_TESTS)

    db_inner.run(backend.option).assert_outcomes(passed=COMMITS)

    check_isolation(db_inner, backend, {"gw0", "gw1"})


def test_without_xdist_the_database_is_created_and_dropped(
    db_inner: Inner, backend: Backend
) -> None:
    db_inner.pytester.makepyfile(test_commits=COMMITTING_TESTS)

    db_inner.run(backend.option).assert_outcomes(passed=COMMITS)

    check_isolation(db_inner, backend, {"master"})


# Whether the engine pools is the driver's business for neither of PostgreSQL's drivers.
@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_function_loop_scope(db_inner: Inner, backend: Backend) -> None:
    """Tests on loops of their own share the session engine (unpooled)."""
    db_inner.pytester.makepyfile(test_commits=COMMITTING_TESTS)

    result = db_inner.run(backend.option, "--green-light-loop-scope=function")

    result.assert_outcomes(passed=COMMITS)
    assert len({fact["loop"] for fact in facts_by_kind(db_inner)["test"]}) == COMMITS
    assert backend.existing() == set()


if HAS_PYTEST_ASYNCIO:  # without it, nothing runs async tests in an inert plugin

    def test_inert_plugin_with_pytest_asyncio_loops(
        db_inner: Inner, pg_backend: Backend
    ) -> None:
        """pytest-asyncio's own function loops: the engine must not pool."""
        db_inner.driver = "auto"
        db_inner.pytester.makepyfile(test_commits=COMMITTING_TESTS)

        result = db_inner.run(
            pg_backend.option,
            "--green-light-no-autouse",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        )

        result.assert_outcomes(passed=COMMITS)
        assert (
            len({fact["loop"] for fact in facts_by_kind(db_inner)["test"]}) == COMMITS
        )
        check_isolation(db_inner, pg_backend, {"master"})


@pytest.mark.compat
def test_engine_is_one_per_worker_on_the_worker_loop(
    db_inner: Inner, pg_backend: Backend
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import sqlalchemy as sa
        from facts import record

        @pytest.mark.parametrize("n", range(10))
        @pytest.mark.asyncio
        async def test_engine(green_light_engine, green_light_loop, n):
            async with green_light_engine.connect() as conn:
                backend_pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
            record(
                "test",
                engine=id(green_light_engine),
                backend_pid=backend_pid,
                on_worker_loop=asyncio.get_running_loop() is green_light_loop,
            )
        """
    )

    db_inner.run(pg_backend.option).assert_outcomes(passed=10)

    by_worker: dict[str, set[object]] = defaultdict(set)
    pids: dict[str, set[object]] = defaultdict(set)
    for fact in facts_by_kind(db_inner)["test"]:
        assert fact["on_worker_loop"] is True
        by_worker[str(fact["worker"])].add(fact["engine"])
        pids[str(fact["worker"])].add(fact["backend_pid"])
    assert set(by_worker) == {"gw0", "gw1"}
    assert all(len(engines) == 1 for engines in by_worker.values())
    # Pooled: each worker's tests reuse one server connection.
    assert all(len(p) == 1 for p in pids.values()), pids


def test_in_memory_sqlite_is_set_up_by_the_engine(db_inner: Inner) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_commits=COMMITTING_TESTS)

    db_inner.run("--green-light-db-url=sqlite+aiosqlite://").assert_outcomes(
        passed=COMMITS
    )

    facts = facts_by_kind(db_inner)
    assert sorted(str(f["worker_id"]) for f in facts["hook"]) == ["gw0", "gw1"]
    assert {f["database"] for f in facts["test"]} == {":memory:"}


# -- what exists before and after --------------------------------------------------


def seed_base_database(backend: Backend, rows: list[str]) -> None:
    """Create the base database with the schema and ``rows``, as a project's
    migrations would."""
    if backend.pg_admin is not None:
        backend.pg_admin.execute(
            f"CREATE DATABASE {backend.pg_admin.quote(str(backend.base_url.database))}"
        )
        url = backend.base_url.set(drivername=backend.pg_admin.SYNC_DRIVER)
    else:
        url = backend.base_url.set(drivername="sqlite")
    notes = sa.Table(
        "notes",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(50)),
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        notes.create(conn)
        if rows:
            conn.execute(notes.insert(), [{"text": row} for row in rows])
    engine.dispose()


LISTING_TESTS = """
import pytest
import sqlalchemy as sa
from conftest import Note, current_database
from facts import record


@pytest.mark.parametrize("n", range(4))
@pytest.mark.asyncio
async def test_list(green_light_session, n):
    texts = (await green_light_session.scalars(sa.select(Note.text).order_by(Note.id))).all()
    record("test", database=await current_database(green_light_session), texts=list(texts))
"""


@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_existing_base_database_is_the_template(
    db_inner: Inner, backend: Backend
) -> None:
    """Under xdist the template is a copy of it, set up by the hook like any database
    the plugin creates; without xdist it is used as it is, neither set up nor dropped."""
    seed_base_database(backend, ["from migrations"])
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    base = backend.database_name("master")

    db_inner.distribution = "n2"
    db_inner.run(backend.option).assert_outcomes(passed=4)
    facts = facts_by_kind(db_inner)
    assert [f["worker_id"] for f in facts["hook"]] == ["template"]
    assert {f["database"] for f in facts["test"]} == {
        backend.database_name("gw0"),
        backend.database_name("gw1"),
    }
    for fact in facts["test"]:
        assert fact["texts"] == ["from migrations", "seeded for template"]
    assert backend.existing() == {base}

    db_inner.facts_path.unlink()
    db_inner.distribution = "n0"
    db_inner.run(backend.option).assert_outcomes(passed=4)
    facts = facts_by_kind(db_inner)
    assert facts["hook"] == []
    assert {f["database"] for f in facts["test"]} == {base}
    assert all(f["texts"] == ["from migrations"] for f in facts["test"])
    assert backend.existing() == {base}


@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_keep_db_then_replace(db_inner: Inner, backend: Backend) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    kept = [backend.database_name(name) for name in ("gw0", "gw1", "template")]
    stored = {*kept[:2], *backend.kept_template()}

    result = db_inner.run(backend.option, "--green-light-keep-db")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "green-light database: *, kept after the run",
            "green-light: databases kept (--green-light-keep-db): "
            + ", ".join(f"*{name}" for name in kept),
        ]
    )
    assert backend.existing() == stored

    db_inner.run(backend.option).assert_outcomes(passed=4)
    assert backend.existing() == set()
    # The kept databases were replaced, not reused: the template set up again.
    facts = facts_by_kind(db_inner)
    assert [f["worker_id"] for f in facts["hook"]] == ["template", "template"]
    assert all(f["texts"] == ["seeded for template"] for f in facts["test"])


@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_keep_db_without_xdist(db_inner: Inner, backend: Backend) -> None:
    """The database the run created is kept and listed; the next run uses it as it is
    (the URL's own database), neither set up again nor dropped."""
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    base = backend.database_name("master")

    result = db_inner.run(backend.option, "--green-light-keep-db")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [f"green-light: databases kept (--green-light-keep-db): *{base}"]
    )
    assert backend.existing() == {base}
    assert len(facts_by_kind(db_inner)["hook"]) == 1

    db_inner.facts_path.unlink()
    result = db_inner.run(backend.option)
    result.assert_outcomes(passed=4)
    result.stdout.no_fnmatch_line("*databases kept*")
    assert backend.existing() == {base}
    facts = facts_by_kind(db_inner)
    assert facts["hook"] == []
    assert all(f["texts"] == ["seeded for master"] for f in facts["test"])


CRASHING_TESTS = """
import os
import pytest
import sqlalchemy as sa
from conftest import Note


@pytest.mark.parametrize("n", range(4))
@pytest.mark.asyncio
async def test_write_then_crash(green_light_engine, n):
    async with green_light_engine.begin() as conn:
        await conn.execute(sa.insert(Note).values(text="left by the crashed run"))
    if os.environ.get("CRASH"):
        os._exit(1)
"""


@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_crashed_workers_databases_are_dropped_and_leftovers_replaced(
    db_inner: Inner,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_crash=CRASHING_TESTS)
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    # A crashed worker cannot drop its database: the controller does on its way out.
    monkeypatch.setenv("CRASH", "1")
    crashed = db_inner.run(backend.option, "--max-worker-restart=0", "test_crash.py")
    assert crashed.ret != 0
    crashed.stdout.fnmatch_lines(["*worker gw* crashed*"])
    assert backend.existing() == set()

    # What a run whose controller died too leaves (kept, here) is replaced.
    monkeypatch.delenv("CRASH")
    db_inner.run(backend.option, "--green-light-keep-db", "test_crash.py")
    assert backend.existing() == {
        backend.database_name("gw0"),
        backend.database_name("gw1"),
        *backend.kept_template(),
    }
    db_inner.facts_path.unlink(missing_ok=True)
    db_inner.run(backend.option, "test_list.py").assert_outcomes(passed=4)
    facts = facts_by_kind(db_inner)["test"]
    assert all(f["texts"] == ["seeded for template"] for f in facts)
    assert backend.existing() == set()


# A double quote (identifier quoting), a single quote (string literals), spaces and an
# injection attempt, all in one name.
HOSTILE_NAME = """we"ird 5%spa'ce; DROP DATABASE postgres; --"""


@pytest.mark.parametrize("backend_name", ["sqlite", "asyncpg", "aiomysql"])
def test_hostile_database_names(
    db_inner: Inner, backend_name: str, request: pytest.FixtureRequest
) -> None:
    admin = server_admin(request, backend_name)
    database = f"{uuid.uuid4().hex[:6]} {HOSTILE_NAME}"
    backend = make_backend(backend_name, db_inner.pytester, admin, database)
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    db_inner.run(backend.option).assert_outcomes(passed=4)

    facts = facts_by_kind(db_inner)["test"]
    assert {f["database"] for f in facts} == {
        backend.database_name("gw0"),
        backend.database_name("gw1"),
    }
    assert backend.existing() == set()
    if admin is not None and not isinstance(admin, MysqlAdmin):
        assert admin.databases("postgres") == {"postgres"}


# -- one set-up per run, reused across runs ---------------------------------------


def hooks_called(inner: Inner) -> list[object]:
    """The worker ids the set-up hook was called with since the last look."""
    called = [f["worker_id"] for f in facts_by_kind(inner)["hook"]]
    inner.facts_path.unlink(missing_ok=True)
    return called


def write_marker(backend: Backend, marker: str) -> None:
    """Replace the stored template's marker, as another project's run would leave it."""
    name = backend.database_name("template")
    admin = backend.pg_admin
    if admin is None:
        directory = os.path.dirname(str(backend.base_url.database))
        Path(directory, f"{name}.green-light").write_text(marker)
    elif isinstance(admin, MysqlAdmin):
        admin.execute(
            "UPDATE _green_light_template SET marker = "
            + "'"
            + marker.replace("'", "''")
            + "'",
            name,
        )
    else:
        literal = marker.replace("'", "''")
        admin.execute(f"COMMENT ON DATABASE {admin.quote(name)} IS '{literal}'")


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        "asyncpg",
        "aiomysql",
        case("psycopg", usual=False),
        case("asyncmy", usual=False),
    ],
    indirect=True,
)
def test_set_up_once_then_reused_until_the_project_changes(
    db_inner: Inner, backend: Backend
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS, models="VERSION = 1\n")
    reuse = "--green-light-reuse-db"

    # Under xdist, once per run, on the template, dropped at the end (MySQL: the
    # hook per worker, which costs what a copy would).
    once = db_inner.run(backend.option)
    once.assert_outcomes(passed=4)
    if backend.per_worker_set_up:
        once.stdout.fnmatch_lines(
            ["green-light database: *; each set up by the hook (a copy would cost*"]
        )
        assert sorted(map(str, hooks_called(db_inner))) == ["gw0", "gw1"]
    else:
        once.stdout.fnmatch_lines(
            [
                "green-light database: * (command line), one per worker *; "
                "template *_template* built once in * s",
                "green-light database: template * built once in * s, copied to 2 "
                "worker(s) in * s",
            ]
        )
        assert hooks_called(db_inner) == ["template"]
    assert backend.existing() == set()

    # --green-light-reuse-db builds the template and keeps it...
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == ["template"]
    assert backend.existing() == backend.kept_template()

    # ...and the next run copies it without calling the hook.
    reused = db_inner.run(backend.option, reuse)
    reused.assert_outcomes(passed=4)
    reused.stdout.fnmatch_lines(
        ["green-light database: *; template * reused (fingerprint ????????????)"]
    )
    assert hooks_called(db_inner) == []
    assert {tuple(f["texts"]) for f in facts_by_kind(db_inner)["test"]} <= {
        ("seeded for template",)
    }
    assert backend.existing() == backend.kept_template()

    # A changed model module makes it stale: rebuilt.
    db_inner.pytester.makepyfile(models="VERSION = 2\n")
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == ["template"]
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == []

    # --green-light-create-db rebuilds whatever is stored.
    db_inner.run(backend.option, reuse, "--green-light-create-db").assert_outcomes(
        passed=4
    )
    assert hooks_called(db_inner) == ["template"]

    # A run without --green-light-reuse-db drops what is stored, where it builds a
    # template of its own (MySQL: it leaves it alone).
    db_inner.run(backend.option).assert_outcomes(passed=4)
    if backend.per_worker_set_up:
        assert sorted(map(str, hooks_called(db_inner))) == ["gw0", "gw1"]
        assert backend.existing() == backend.kept_template()
    else:
        assert hooks_called(db_inner) == ["template"]
        assert backend.existing() == set()


# The less usual cases (here and above, below): the nox session `combinations`.
@pytest.mark.parametrize(
    "backend", usual_only(["sqlite", "asyncpg"], "sqlite"), indirect=True
)
def test_reuse_without_xdist(db_inner: Inner, backend: Backend) -> None:
    """The run's database is a copy of the kept template, dropped at the end."""
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    reuse = "--green-light-reuse-db"

    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == ["template"]
    assert backend.existing() == backend.kept_template()
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == []
    assert backend.existing() == backend.kept_template()
    # A run that neither reuses nor copies leaves the stored template alone.
    db_inner.run(backend.option).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == ["master"]
    assert backend.existing() == backend.kept_template()


def test_the_ini_key_turns_reuse_on(db_inner: Inner) -> None:
    backend = make_backend("sqlite", db_inner.pytester, None)
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    db_inner.distribution = "n2"
    for _ in range(2):
        db_inner.run(backend.option, "-o", "green_light_reuse_db=true")
    assert hooks_called(db_inner) == ["template"]
    assert backend.existing() == backend.kept_template()


@pytest.mark.parametrize(
    "backend", usual_only(["sqlite", "asyncpg", "aiomysql"], "sqlite"), indirect=True
)
def test_a_stored_template_of_another_url_is_one_error_and_left_alone(
    db_inner: Inner, backend: Backend
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    reuse = "--green-light-reuse-db"
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    other = "postgresql+asyncpg://someone@elsewhere/app"
    write_marker(backend, f"pytest-green-light template; url={other}; fingerprint=x")

    plain = [] if backend.per_worker_set_up else [()]  # MySQL: no template then
    for args in [(reuse, "--green-light-create-db"), *plain]:
        result = db_inner.run(backend.option, *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: The stored template '*{backend.database_name('template')}' "
                f"on * was built for {other}, not *; pytest-green-light leaves it "
                "alone. Drop it, or use another database name in the URL."
            ]
        )
        assert backend.existing() == backend.kept_template()
    assert hooks_called(db_inner) == ["template"]


@pytest.mark.parametrize(
    "backend", usual_only(["sqlite", "asyncpg", "aiomysql"], "sqlite"), indirect=True
)
def test_a_database_named_like_the_template_that_is_not_ours_is_never_dropped(
    db_inner: Inner, backend: Backend
) -> None:
    name = backend.database_name("template")
    if backend.pg_admin is None:
        path = Path(os.path.dirname(str(backend.base_url.database)), name)
        sqlite3.connect(path).close()
    else:
        backend.pg_admin.execute(f"CREATE DATABASE {backend.pg_admin.quote(name)}")
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    plain = [] if backend.per_worker_set_up else [()]  # MySQL: no template then
    for args in [("--green-light-reuse-db",), *plain]:
        result = db_inner.run(backend.option, *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: A database named '*{name}' exists on *, and pytest-green-light "
                "did not create it, so it will not drop or use it*"
            ]
        )
        assert backend.existing() == {name}


FINGERPRINT_HOOKS = {
    "raises": (
        "def pytest_green_light_database_fingerprint(config):\n"
        "    raise RuntimeError('no alembic here')\n",
        [
            "ERROR: pytest_green_light_database_fingerprint raised, so "
            "pytest-green-light cannot tell whether the stored template is up to date:",
            "Traceback (most recent call last):",
            "*RuntimeError: no alembic here",
        ],
    ),
    "returns an int": (
        "def pytest_green_light_database_fingerprint(config):\n    return 3\n",
        [
            "ERROR: pytest_green_light_database_fingerprint returned int 3; it must "
            "return a string (an alembic head revision, say) or None for the plugin's "
            "own hash."
        ],
    ),
}


@pytest.mark.parametrize("hook", sorted(FINGERPRINT_HOOKS))
def test_a_fingerprint_hook_that_fails_is_one_error(db_inner: Inner, hook: str) -> None:
    source, expected = FINGERPRINT_HOOKS[hook]
    conftest = db_inner.pytester.path / "conftest.py"
    conftest.write_text(conftest.read_text() + "\n\n" + source)
    backend = make_backend("sqlite", db_inner.pytester, None)
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    result = db_inner.run(backend.option, "--green-light-reuse-db")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(expected)
    assert backend.existing() == set()
    assert hooks_called(db_inner) == []


def test_the_fingerprint_hook_decides_when_to_rebuild(db_inner: Inner) -> None:
    conftest = db_inner.pytester.path / "conftest.py"
    conftest.write_text(
        conftest.read_text()
        + "\n\ndef pytest_green_light_database_fingerprint(config):\n"
        + "    return open('revision').read()\n"
    )
    backend = make_backend("sqlite", db_inner.pytester, None)
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    reuse = "--green-light-reuse-db"
    revision = db_inner.pytester.path / "revision"

    revision.write_text("abc123")
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    # Any other change to the project leaves the hook's answer, and the template.
    db_inner.pytester.makepyfile(models="VERSION = 2\n")
    reused = db_inner.run(backend.option, reuse)
    reused.stdout.fnmatch_lines(["*template * reused (fingerprint abc123)"])
    revision.write_text("def456")
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)
    assert hooks_called(db_inner) == ["template", "template"]


def test_what_the_fingerprint_leaves_out(db_inner: Inner) -> None:
    """Test files, virtualenvs and hidden directories: changing them reuses the
    template."""
    backend = make_backend("sqlite", db_inner.pytester, None)
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    venv = db_inner.pytester.path / "env"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    reuse = "--green-light-reuse-db"
    db_inner.run(backend.option, reuse).assert_outcomes(passed=4)

    (venv / "lib" / "installed.py").write_text("VERSION = 2\n")
    (db_inner.pytester.path / ".cache").mkdir()
    (db_inner.pytester.path / ".cache" / "tool.py").write_text("x = 1\n")
    db_inner.pytester.makepyfile(test_more="def test_more():\n    pass\n")
    db_inner.run(backend.option, reuse).assert_outcomes(passed=5)

    assert hooks_called(db_inner) == ["template"]


def test_a_template_others_are_connected_to_is_one_error(
    db_inner: Inner, pg_backend: Backend
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    reuse = "--green-light-reuse-db"
    db_inner.run(pg_backend.option, reuse).assert_outcomes(passed=4)
    template = pg_backend.database_name("template")
    held = sa.create_engine(
        pg_backend.base_url.set(drivername="postgresql+psycopg", database=template),
        poolclass=NullPool,
    )
    with held.connect():
        result = db_inner.run(pg_backend.option, reuse)
    held.dispose()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-green-light cannot copy the database '{template}' on "
            "127.0.0.1:* for the workers: 1 other connection(s) to it are open.",
            "PostgreSQL copies the database * only while nobody is connected to it*",
        ]
    )
    assert pg_backend.existing() == pg_backend.kept_template()


def test_a_role_that_may_not_copy_the_urls_database_is_one_error(
    db_inner: Inner, pg_admin: PgAdmin
) -> None:
    """The URL's database belongs to another role: PostgreSQL lets only its owner
    (or a superuser) copy it."""
    role = f"gl_role_{uuid.uuid4().hex[:8]}"
    pg_admin.execute(
        f"CREATE ROLE {pg_admin.quote(role)} LOGIN CREATEDB PASSWORD 'rolepw'"
    )
    backend = make_backend("asyncpg", db_inner.pytester, pg_admin)
    seed_base_database(backend, [])
    try:
        url = backend.base_url.set(username=role, password="rolepw")
        db_inner.distribution = "n2"
        db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

        result = db_inner.run(f"--green-light-db-url={url.render_as_string(False)}")

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        base = backend.base_url.database
        result.stderr.fnmatch_lines(
            [
                "ERROR: pytest-green-light could not create the database "
                f"'{base}_template' on 127.0.0.1:*",
                f"PostgreSQL lets a role copy the database '{base}' only if it owns it*",
            ]
        )
        assert backend.existing() == {base}
    finally:
        pg_admin.execute(f"DROP ROLE {pg_admin.quote(role)}")


# -- MySQL and MariaDB ------------------------------------------------------------


def test_mariadb_user_without_create_and_drop(
    db_inner: Inner, mysql_admin: PgAdmin
) -> None:
    user = f"gl_user_{uuid.uuid4().hex[:8]}"
    # %%: PyMySQL formats the statement, parameters or not.
    mysql_admin.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'userpw'")
    mysql_admin.execute(f"GRANT SELECT ON *.* TO '{user}'@'%%'")
    try:
        url = mysql_admin.url.set(username=user, password="userpw", database="gl_app")
        db_inner.distribution = "n2"
        db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

        result = db_inner.run(f"--green-light-db-url={url.render_as_string(False)}")

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: The MySQL/MariaDB user '{user}' on 127.0.0.1:* lacks the "
                "CREATE and DROP privilege on 'gl_app_gw0', gl_app_gw1..., which "
                "pytest-green-light needs to create and drop the workers' databases. "
                "Grant it with "
                f"`GRANT ALL ON `gl\\_app%`.* TO {user};`, or use a user that has it."
            ]
        )
        assert sum("ERROR" in line for line in result.errlines) == 1
    finally:
        mysql_admin.execute(f"DROP USER '{user}'@'%%'")


def test_mariadb_server_not_answering_and_long_names(
    db_inner: Inner, mysql_admin: PgAdmin
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    gone = db_inner.run(
        f"--green-light-db-url=mysql+aiomysql://u:hu%3Ash@127.0.0.1:{port}/gl_app"
    )
    assert gone.ret == pytest.ExitCode.USAGE_ERROR
    gone.stderr.fnmatch_lines(
        [
            "ERROR: pytest-green-light could not connect to the MySQL/MariaDB server "
            f"at 127.0.0.1:{port} (as mysql+aiomysql://u:***@127.0.0.1:{port}): *",
            "Check that the server is running and that the URL's host, port, user "
            "and password are right.",
        ]
    )
    assert "hu%3Ash" not in gone.stderr.str() + gone.stdout.str()

    backend = make_backend("aiomysql", db_inner.pytester, mysql_admin, "x" * 61)
    long = db_inner.run(backend.option)
    assert long.ret == pytest.ExitCode.USAGE_ERROR
    long.stderr.fnmatch_lines(
        [
            f"ERROR: The database name '{'x' * 61}_gw9' is longer than MySQL's and "
            "MariaDB's 64 characters, so workers' names would collide. Use a shorter "
            "database name in the URL."
        ]
    )


MYSQL_SCHEMA = """
import sqlalchemy as sa
from facts import record


async def pytest_green_light_setup_database(engine, worker_id):
    async with engine.begin() as conn:
        for statement in [
            "CREATE TABLE authors (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50))",
            "CREATE TABLE books (id INT PRIMARY KEY AUTO_INCREMENT, author_id INT, "
            "title VARCHAR(50), shout VARCHAR(50) AS (UPPER(title)) VIRTUAL, "
            "FOREIGN KEY (author_id) REFERENCES authors (id))",
            "INSERT INTO authors (name) VALUES ('Ann'), ('Bo')",
            "INSERT INTO books (author_id, title) VALUES (1, 'one'), (2, 'two')",
            "CREATE VIEW titles AS SELECT title FROM books",
        ]:
            await conn.exec_driver_sql(statement)
    record("hook", worker_id=worker_id)
"""

MYSQL_COPY_TESTS = """
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError


@pytest.mark.asyncio
async def test_the_copy_is_whole(green_light_engine):
    async with green_light_engine.connect() as conn:
        shouts = (await conn.exec_driver_sql("SELECT shout FROM books ORDER BY id")).all()
        assert [row[0] for row in shouts] == ["ONE", "TWO"]
        titles = (await conn.exec_driver_sql("SELECT title FROM titles ORDER BY title")).all()
        assert [row[0] for row in titles] == ["one", "two"]
        await conn.exec_driver_sql("INSERT INTO authors (name) VALUES ('Cy')")
        new_id = await conn.scalar(sa.text("SELECT MAX(id) FROM authors"))
        assert new_id == 3  # the AUTO_INCREMENT counter came along
        with pytest.raises(IntegrityError):  # and the foreign key
            await conn.exec_driver_sql(
                "INSERT INTO books (author_id, title) VALUES (99, 'orphan')"
            )
"""


def test_mariadb_copies_keep_keys_generated_columns_views_and_counters(
    db_inner: Inner, mysql_admin: PgAdmin
) -> None:
    db_inner.pytester.makeconftest(MYSQL_SCHEMA)
    db_inner.pytester.makepyfile(test_copy=MYSQL_COPY_TESTS)
    backend = make_backend("aiomysql", db_inner.pytester, mysql_admin)
    db_inner.distribution = "n2"

    # Copies are made of a template that is kept.
    db_inner.run(backend.option, "--green-light-reuse-db").assert_outcomes(passed=1)

    assert hooks_called(db_inner) == ["template"]
    assert backend.existing() == backend.kept_template()


def test_a_mariadb_template_with_triggers_is_set_up_per_worker(
    db_inner: Inner, mysql_admin: PgAdmin
) -> None:
    """A copy table by table would lose the trigger: each worker runs the hook."""
    db_inner.pytester.makeconftest(
        MYSQL_SCHEMA.replace(
            '"CREATE VIEW titles AS SELECT title FROM books",',
            '"CREATE VIEW titles AS SELECT title FROM books", '
            '"CREATE TRIGGER no_op BEFORE INSERT ON authors FOR EACH ROW SET @x = 1",',
        )
    )
    db_inner.pytester.makepyfile(test_copy=MYSQL_COPY_TESTS)
    backend = make_backend("aiomysql", db_inner.pytester, mysql_admin)
    db_inner.distribution = "n2"

    result = db_inner.run(backend.option, "--green-light-reuse-db")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "green-light database: *; template * built once in * s, not copied: it "
            "holds triggers, which a copy would lose, so each worker's database is set "
            "up by the hook"
        ]
    )
    assert sorted(map(str, hooks_called(db_inner))) == ["gw0", "gw1", "template"]
    assert backend.existing() == backend.kept_template()


# -- a server of a test's own, to stop ------------------------------------------


def _as_postgres(*command: str) -> list[str]:
    """PostgreSQL's programs refuse to run as root."""
    return (
        ["runuser", "-u", "postgres", "--", *command]
        if os.getuid() == 0
        else list(command)
    )


@pytest.fixture
def throwaway_pg(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[URL, list[str]]]:
    """A PostgreSQL cluster of this test's own on 127.0.0.1 (trust authentication), and
    the command that stops it at once; scripts/test installed the server."""
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindirs:
        pytest.fail("PostgreSQL's programs are not installed: run scripts/test")
    bindir = bindirs[-1]
    directory = Path(tempfile.mkdtemp(prefix="green-light-pg-own-"))
    try:
        if os.getuid() == 0:
            shutil.chown(directory, "postgres")
        data = directory / "data"
        subprocess.run(
            _as_postgres(
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "green_light",
                "--auth=trust",
            ),
            check=True,
            capture_output=True,
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        options = f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off"
        subprocess.run(
            _as_postgres(
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-s",
                "-D",
                str(data),
                "-l",
                str(directory / "log"),
                "-o",
                options,
            ),
            check=True,
            capture_output=True,
        )
        stop = _as_postgres(
            str(bindir / "pg_ctl"), "stop", "-s", "-m", "immediate", "-D", str(data)
        )
        yield (
            make_url(f"postgresql+asyncpg://green_light@127.0.0.1:{port}/gl_app"),
            stop,
        )
        subprocess.run(stop, capture_output=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


SERVER_STOPPED_IN_A_TEST = """
import json
import os
import subprocess


def test_stops_the_server():
    subprocess.run(json.loads(os.environ["GL_STOP_SERVER"]), check=True)


def test_fails():
    assert False


def test_passes():
    pass
"""


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_a_server_gone_at_session_end_leaves_the_report_as_it_is(
    db_inner: Inner,
    throwaway_pg: tuple[URL, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    distribution: str,
) -> None:
    url, stop = throwaway_pg
    monkeypatch.setenv("GL_STOP_SERVER", json.dumps(stop))
    db_inner.distribution = distribution
    db_inner.pytester.makepyfile(test_stop=SERVER_STOPPED_IN_A_TEST)

    result = db_inner.run(f"--green-light-db-url={url.render_as_string(False)}")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*= FAILURES =*", "*test_fails*"])
    names = ["gl_app_gw0", "gl_app_gw1"] if distribution == "n2" else ["gl_app"]
    result.stdout.fnmatch_lines(
        [
            "green-light: could not drop the database(s) it created, left behind: "
            + "; ".join(
                f"postgresql+asyncpg://green_light@{url.host}:{url.port}/{name} "
                "(pytest-green-light could not connect to the PostgreSQL server*"
                for name in names
            )
            + "*Drop them by hand, or run again*"
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


SERIAL_SLEEPER = """
import time
import pytest
from facts import record


@pytest.mark.parametrize("n", range(4))
def test_parallel(green_light_db_url, n):
    pass


@pytest.mark.serial
def test_serial(green_light_db_url):
    record("serial")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # deaf to the interruption xdist sends
        try:
            time.sleep(0.1)
        except KeyboardInterrupt:
            pass
"""


# compat: the nox cells run the less usual cases.
@pytest.mark.compat
@pytest.mark.parametrize(
    "backend", usual_only(["sqlite", "asyncpg"], "asyncpg"), indirect=True
)
def test_ctrl_c_to_the_controller_in_the_serial_phase_leaves_no_database(
    db_inner: Inner, backend: Backend
) -> None:
    """The busy worker does not stop when xdist tells it to: xdist kills it, and the
    controller drops its database on its way out."""
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_sleep=SERIAL_SLEEPER)
    controller = subprocess.Popen(
        [sys.executable, "-m", "pytest", *db_inner.args(backend.option)],
        cwd=db_inner.pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(f["test"] == "serial" for f in db_inner.facts()):
            assert controller.poll() is None, controller.communicate()[0]
            assert time.monotonic() < deadline, "the serial test never started"
            time.sleep(0.05)
        controller.send_signal(signal.SIGINT)
        output, _ = controller.communicate(timeout=60)
    finally:
        if controller.poll() is None:
            controller.kill()

    assert controller.returncode == pytest.ExitCode.INTERRUPTED, output
    assert backend.existing() == set(), output


# -- what users see ----------------------------------------------------------------


def test_password_never_shown(
    db_inner: Inner, pg_url: URL, pg_backend: Backend
) -> None:
    password = str(pg_url.password)
    assert len(password) > 4
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(
        test_list=LISTING_TESTS,
        test_fail="def test_fails(green_light_db_url):\n    assert not green_light_db_url.startswith('postgresql')\n",
    )

    ok = db_inner.run(pg_backend.option, "-v", "-rA")
    ok.assert_outcomes(passed=4, failed=1)
    ok.stdout.fnmatch_lines(
        [f"green-light database: postgresql+asyncpg://{pg_url.username}:***@*"]
    )

    bad_hook = db_inner.pytester.path / "conftest.py"
    bad_hook.write_text(
        bad_hook.read_text()
        + "\n\nasync def pytest_green_light_setup_database(engine, worker_id):\n"
        "    raise RuntimeError(f'cannot set up {engine.url}')\n"
    )
    failing_hook = db_inner.run(pg_backend.option, "-n", "0")
    failing_hook.stderr.fnmatch_lines(["*pytest_green_light_setup_database failed*"])

    for result in (ok, failing_hook):
        output = "\n".join(result.outlines + result.errlines)
        # The failing test shows its own assertion on the URL: that one is the test's
        # own doing, so look only at what the plugin printed.
        output = output.replace(pg_backend.base_url.render_as_string(False), "")
        output = "\n".join(
            line
            for line in output.splitlines()
            if "green_light_db_url" not in line and not line.startswith("E ")
        )
        assert password not in output
    assert pg_backend.existing() == set()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "::::",
            "pytest-green-light cannot parse the database URL given by --green-light-db-url (not a URL; the URL is not shown: it may hold a password). Expected a SQLAlchemy URL such as *",
        ),
        (
            "postgresql+asyncpg://app:p@hush:w0rd@127.0.0.1:5432/app",
            "*cannot parse the database URL given by --green-light-db-url (more than one @ before the host; *percent-encode @ as %40, : as %3A, / as %2F and % as %25.",
        ),
        (
            "postgresql+asyncpg://app:p@hush@127.0.0.1/app",
            "*(more than one @ before the host; *",
        ),
        (
            "postgresql+asyncpg://app:hush@127.0.0.1:54x2/app",
            "*(the port is not a number; *",
        ),
        (
            "postgresql+asyncpg://app:hush@[::1",
            "*(an IPv6 host's [ is not closed; *",
        ),
        (
            "sqlite+aiosqlite:///file:hush.db?uri=true",
            "The database URL * (from --green-light-db-url) is a SQLite URI filename (file:…?uri=true), *Use a path: sqlite+aiosqlite:///app.db.",
        ),
        (
            "postgresql+nosuchdriver://u:hush@h/app",
            "The database URL postgresql+nosuchdriver://u:***@h/app (from --green-light-db-url) names a dialect or driver SQLAlchemy does not know: 'postgresql+nosuchdriver'. Use an async driver such as *",
        ),
        (
            "sqlite:///app.db",
            "The database URL sqlite:///app.db (from --green-light-db-url) names the sync driver 'sqlite'; SQLAlchemy's asyncio extension needs an async one, such as *",
        ),
        (
            "postgresql+psycopg2://u:hush@h/app",
            "The database URL postgresql+psycopg2://u:***@h/app (from --green-light-db-url) names the sync driver 'postgresql+psycopg2'; *",
        ),
        (
            "mysql+aiomysqlx://u:hush@h/app",
            "*names a dialect or driver SQLAlchemy does not know: 'mysql+aiomysqlx'*",
        ),
        (
            "postgresql+asyncpg://u:hush@h/",
            "The database URL postgresql+asyncpg://u:***@h/ (from --green-light-db-url) names no database; each worker's database is named after it (app_gw0, app_gw1…). Add one: postgresql+asyncpg://u:***@h/app.",
        ),
    ],
    ids=[
        "unparseable",
        "raw-at-and-colon-in-password",
        "raw-at-in-password",
        "port-not-a-number",
        "unclosed-ipv6",
        "sqlite-uri-filename",
        "unknown-driver",
        "sync-driver",
        "sync-driver-not-installed",
        "unknown-dialect",
        "no-database-name",
    ],
)
def test_a_url_that_cannot_work_is_a_usage_error(url: str, expected: str) -> None:
    with pytest.raises(pytest.UsageError) as raised:
        parse_database_url(url, "--green-light-db-url")

    assert fnmatch.fnmatchcase(str(raised.value), expected), str(raised.value)
    if "sqlite" not in url:  # a SQLite URL has no password
        assert "hush" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("::::", "ERROR: pytest-green-light cannot parse the database*"),
        ("postgresql+asyncpg://u@127.0.0.1/", "ERROR: *names no database*"),
        (
            "postgresql+asyncpg://app:p@ss:w0rd@127.0.0.1:5432/app",
            "ERROR: *cannot parse the database URL*(more than one @ before the host*",
        ),
        ("postgresql+asyncpg://app:pw0rd@[::1", "ERROR: *cannot parse*"),
        ("sqlite+aiosqlite:///file:x.db?uri=true", "ERROR: *SQLite URI filename*"),
    ],
    ids=["unparseable", "no-name", "raw-at", "unclosed-ipv6", "sqlite-uri"],
)
@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_bad_url_stops_the_run_before_any_worker_starts(
    pytester: pytest.Pytester, url: str, expected: str, workers: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")

    result = pytester.runpytest_subprocess(f"--green-light-db-url={url}", "-n", workers)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert sum("ERROR:" in line for line in result.errlines) == 1
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "w0rd" not in output  # no part of a password, in any form
    assert not list(pytester.path.glob("*.db"))


# The xdist controller's check with one driver, a worker's own set-up with the other.
@pytest.mark.parametrize(
    ("url", "distribution", "expected"),
    [
        (
            "postgresql+asyncpg://u:hu%3Ash%40%2Fx@127.0.0.1:1/app",
            "n2",
            "ERROR: pytest-green-light could not connect to the PostgreSQL server at 127.0.0.1:1 (as postgresql+asyncpg://u:***@127.0.0.1:1/postgres): ConnectionRefusedError: *Connect call failed*",
        ),
        (
            "postgresql+psycopg://u:hu%3Ash%40%2Fx@127.0.0.1:1/app",
            "n0",
            "ERROR: pytest-green-light could not connect to the PostgreSQL server at 127.0.0.1:1 (as postgresql+psycopg://u:***@127.0.0.1:1/postgres): OperationalError: *Connection refused*",
        ),
    ],
    ids=["refused-asyncpg", "refused-psycopg"],
)
def test_an_unreachable_server_is_one_clear_error_at_session_start(
    db_inner: Inner, url: str, expected: str, distribution: str
) -> None:
    db_inner.distribution = distribution
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    result = db_inner.run(f"--green-light-db-url={url}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert sum("ERROR:" in line for line in result.errlines) == 1
    # The password, with characters URLs escape, neither as given nor unescaped.
    assert "hu%3Ash" not in result.stderr.str()
    assert "hu:sh@/x" not in result.stderr.str()
    assert db_inner.facts() == []


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_a_sqlite_directory_that_does_not_exist_is_one_error_at_session_start(
    db_inner: Inner, distribution: str
) -> None:
    db_inner.distribution = distribution
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    missing = db_inner.pytester.path / "no_such_directory" / "app.db"

    result = db_inner.run(f"--green-light-db-url=sqlite+aiosqlite:///{missing}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: pytest-green-light could not create the SQLite*"]
    )
    assert sum("ERROR" in line for line in result.errlines) == 1
    assert db_inner.facts() == []


# compat: the nox cells run the less usual cases.
@pytest.mark.compat
@pytest.mark.parametrize("distribution", ["n0", "n2"])
@pytest.mark.parametrize(
    "listing",
    usual_only(
        ["--collect-only", "--fixtures", "--fixtures-per-test", "--setup-plan"],
        "--collect-only",
    ),
)
def test_a_run_that_runs_no_tests_touches_no_database(
    db_inner: Inner, listing: str, distribution: str
) -> None:
    """IDE test discovery works while the database server is down."""
    db_inner.distribution = distribution
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    result = db_inner.run(
        "--green-light-db-url=postgresql+asyncpg://u:pw@127.0.0.1:1/app", listing
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert "could not connect" not in result.stdout.str() + result.stderr.str()
    assert db_inner.facts() == []


def test_collect_only_creates_no_database_on_a_live_server(
    db_inner: Inner, pg_backend: Backend
) -> None:
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    db_inner.run(pg_backend.option, "--collect-only").assert_outcomes()

    assert pg_backend.existing() == set()
    assert db_inner.facts() == []


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_role_without_createdb(
    db_inner: Inner, pg_admin: PgAdmin, distribution: str
) -> None:
    role = f"gl_role_{uuid.uuid4().hex[:8]}"
    pg_admin.execute(f"CREATE ROLE {pg_admin.quote(role)} LOGIN PASSWORD 'rolepw'")
    try:
        url = pg_admin.url.set(username=role, password="rolepw", database="gl_app")
        db_inner.distribution = distribution
        db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

        result = db_inner.run(f"--green-light-db-url={url.render_as_string(False)}")

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: The PostgreSQL role '{role}' on 127.0.0.1:* may not create "
                "databases, and pytest-green-light needs to create *. Grant it with "
                f'`ALTER ROLE "{role}" CREATEDB;`, or use a role that may.'
            ]
        )
    finally:
        pg_admin.execute(f"DROP ROLE {pg_admin.quote(role)}")


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_a_short_password_is_masked_as_the_password_not_inside_words(
    db_inner: Inner, pg_admin: PgAdmin, driver: str
) -> None:
    """With the password ``a``, the driver's message stays readable."""
    role = f"gl_role_{uuid.uuid4().hex[:8]}"
    pg_admin.execute(f"CREATE ROLE {pg_admin.quote(role)} LOGIN PASSWORD 'other'")
    try:
        url = pg_admin.url.set(
            drivername=f"postgresql+{driver}", username=role, password="a"
        )
        db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

        result = db_inner.run(f"--green-light-db-url={url.render_as_string(False)}")

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                f"ERROR: *could not connect*(as postgresql+{driver}://{role}:***@*"
                f'*password authentication failed for user "{role}"*'
            ]
        )
        assert "***" not in result.stderr.str().replace(f"{role}:***@", "")
    finally:
        pg_admin.execute(f"DROP ROLE {pg_admin.quote(role)}")


def test_database_name_too_long_for_postgresql(
    db_inner: Inner, pg_admin: PgAdmin
) -> None:
    backend = make_backend("asyncpg", db_inner.pytester, pg_admin, "x" * 60)
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    # Without xdist the name is used as it is (60 bytes fit); a worker's would not.
    db_inner.run(backend.option).assert_outcomes(passed=4)
    db_inner.distribution = "n2"
    result = db_inner.run(backend.option)

    # One usage error before any worker starts (gw9: two workers, eight restarts).
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: The database name '{'x' * 60}_gw9' is longer than PostgreSQL's 63 "
            "bytes, so workers' names would collide. Use a shorter database name in "
            "the URL."
        ]
    )
    assert sum("ERROR" in line for line in result.errlines) == 1
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert backend.existing() == set()


def test_worker_names_are_checked_up_to_the_restarts_xdist_allows(
    db_inner: Inner, pg_admin: PgAdmin
) -> None:
    """xdist replaces up to four crashed workers per ``-n`` worker, even when
    ``--maxprocesses`` starts fewer: two workers, sixteen replacements, gw17."""
    backend = make_backend("asyncpg", db_inner.pytester, pg_admin, "x" * 59)
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    db_inner.distribution = AS_GIVEN

    result = db_inner.run(backend.option, "-n", "4", "--maxprocesses=2")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: The database name '{'x' * 59}_gw17' is*"])
    assert backend.existing() == set()


def test_template_in_use_is_one_clear_error(db_inner: Inner, pg_admin: PgAdmin) -> None:
    backend = make_backend("asyncpg", db_inner.pytester, pg_admin)
    seed_base_database(backend, [])
    held = sa.create_engine(
        backend.base_url.set(drivername="postgresql+psycopg"), poolclass=NullPool
    )
    db_inner.distribution = "n2"
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)
    with held.connect():
        result = db_inner.run(backend.option)
    held.dispose()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    base = backend.base_url.database
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-green-light cannot copy the database '{base}' on "
            "127.0.0.1:* for the workers: 1 other connection(s) to it are open.",
            f"PostgreSQL copies the database '{base}' only while nobody is connected "
            "to it: close its other connections (psql, a development server) and run "
            "again.",
        ]
    )
    assert backend.existing() == {base}


FAILING_HOOK = """

async def pytest_green_light_setup_database(engine, worker_id):
    raise RuntimeError(f"no schema for {worker_id}")
"""


@pytest.mark.parametrize("backend", ["sqlite", "asyncpg"], indirect=True)
def test_failing_setup_hook(db_inner: Inner, backend: Backend) -> None:
    """The run stops with the hook's traceback before any test runs: without xdist
    from the database itself, under xdist from the template, before any worker
    starts. Nothing is left."""
    conftest = db_inner.pytester.path / "conftest.py"
    conftest.write_text(conftest.read_text() + FAILING_HOOK)
    db_inner.pytester.makepyfile(test_list=LISTING_TESTS)

    for distribution, database in [("n0", "master"), ("n2", "template")]:
        db_inner.distribution = distribution
        stopped = db_inner.run(backend.option)
        assert stopped.ret == pytest.ExitCode.USAGE_ERROR
        stopped.stderr.fnmatch_lines(
            [
                "ERROR: pytest_green_light_setup_database failed for *"
                f"{backend.database_name(database)} (worker {database}):",
                "Traceback (most recent call last):",
                "*conftest.py*, in pytest_green_light_setup_database",
                f"RuntimeError: no schema for {database}",
            ]
        )
        assert backend.existing() == set()


def test_fixtures_without_a_url_say_how_to_give_one(inner: Inner) -> None:
    inner.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_session(green_light_session):
            pass

        def test_url(green_light_db_url):
            pass
        """
    )

    result = inner.run()

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*pytest-green-light's database fixtures need a database URL: pass "
            "--green-light-db-url=URL, set $GREEN_LIGHT_DB_URL, or set "
            "green_light_db_url in the ini file."
        ]
    )


def test_no_database_option_no_database_work(inner: Inner) -> None:
    """Without a URL nothing connects anywhere and the header says nothing."""
    inner.pytester.makepyfile("def test_plain():\n    pass\n")
    result = inner.run("-n", "2")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*green-light database*")
