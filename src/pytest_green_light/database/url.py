"""Database URLs: the one configured, checked without connecting, and each worker's."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from pytest_green_light.database.driver_errors import driver_message

SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql")


def worker_database_url(url: str | URL, worker_id: str | None) -> str:
    """The database URL for the xdist worker ``worker_id`` (``gw0``, ``gw1``…).

    The database name gets the suffix ``_gw0``…; a SQLite file gets it before its
    extension (``app.db`` → ``app_gw0.db``); ``:memory:`` is already one per process.
    Without a worker id (``None``, or ``master``: no xdist) the URL is returned as given.
    """
    parsed = make_url(url)
    if worker_id in (None, "master") or is_memory(parsed):
        return url if isinstance(url, str) else _render(parsed)
    return _render(_suffixed(parsed, worker_id))


TEMPLATE_SUFFIX = "template"


def template_database_url(url: URL) -> URL:
    """The template the workers' databases are copies of: ``app_template``,
    ``app_template.db``."""
    return _suffixed(url, TEMPLATE_SUFFIX)


def _suffixed(url: URL, suffix: str) -> URL:
    database = url.database
    if not database:
        raise ValueError(
            f"{masked(url)} names no database to derive the {suffix} database from"
        )
    if url.get_backend_name() == "sqlite":
        if url.query.get("uri") in ("true", "1"):
            raise ValueError("SQLite URI filenames (?uri=true) are not supported")
        root, extension = os.path.splitext(database)
        return url.set(database=f"{root}_{suffix}{extension}")
    return url.set(database=f"{database}_{suffix}")


# Servers cut longer names (PostgreSQL: bytes; MySQL and MariaDB: characters), so
# gw0 and gw1 could end up with one name.
NAME_LIMITS = {
    "postgresql": ("PostgreSQL's", 63, "bytes"),
    "mysql": ("MySQL's and MariaDB's", 64, "characters"),
}


def require_name_fits(url: URL) -> None:
    limit = NAME_LIMITS.get(url.get_backend_name())
    if limit is None:
        return
    (servers, most, unit), name = limit, str(url.database)
    length = len(name.encode()) if unit == "bytes" else len(name)
    if length > most:
        raise pytest.UsageError(
            f"The database name {name!r} is longer than {servers} {most} {unit}, so "
            "workers' names would collide. Use a shorter database name in the URL."
        )


def require_worker_names_fit(url: URL, highest_worker: int) -> None:
    """Up front, in the xdist controller: the template's and every worker's database
    name fit (gw0 up to ``gw{highest_worker}``, replaced workers included)."""
    if url.get_backend_name() not in NAME_LIMITS:
        return
    require_name_fits(_suffixed(url, f"gw{highest_worker}"))
    require_name_fits(template_database_url(url))


def without(url: URL, part: str) -> URL:
    """``url`` without its ``password`` or ``database`` (``URL.set`` takes None for
    "as it is")."""
    parts = url._asdict()
    parts[part] = None
    return URL.create(**parts)


def _render(url: URL, *, hide_password: bool = False) -> str:
    return url.render_as_string(hide_password=hide_password)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def masked(url: URL) -> str:
    """The URL as reports show it: the password replaced with ``***``."""
    return _render(url, hide_password=True)


UNPARSEABLE = (
    "pytest-green-light cannot parse the database URL given by {source} ({reason}; "
    "the URL is not shown: it may hold a password). Expected a SQLAlchemy URL such as "
    "postgresql+asyncpg://user:password@127.0.0.1:5432/app or "
    "sqlite+aiosqlite:///app.db; in the user name and password, percent-encode "
    "@ as %40, : as %3A, / as %2F and % as %25."
)


def _parse(raw: str, source: str) -> URL:
    """``make_url``, with errors that never show the URL: where it cannot be parsed,
    its password may be what is in the way."""
    _, separator, rest = raw.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if separator and authority.count("@") > 1:
        # make_url takes the first @ for the end of the password: the host would be
        # the password's tail, and the driver's error would print it.
        reason = "more than one @ before the host"
    elif (
        "[" in authority.rpartition("@")[2] and "]" not in authority.rpartition("@")[2]
    ):
        reason = "an IPv6 host's [ is not closed"
    else:
        try:
            return make_url(raw)
        except ArgumentError:
            reason = "not a URL"
        except ValueError:  # int() of the port, an unclosed [ of an IPv6 host
            reason = "the port is not a number"
    raise pytest.UsageError(UNPARSEABLE.format(source=source, reason=reason))


def parse_database_url(raw: str, source: str) -> URL:
    """The configured URL, checked for what can be checked without connecting."""
    url = _parse(raw, source)
    shown = masked(url)
    try:
        # The dialect an async engine would use; SQLAlchemy's module, not the driver.
        dialect = url.get_dialect().get_async_dialect_cls(url)
    except NoSuchModuleError:
        dialect = None
    if dialect is not None and not getattr(dialect, "is_async", False):
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) names the sync driver "
            f"{url.drivername!r}; SQLAlchemy's asyncio extension needs an async one, "
            "such as postgresql+asyncpg, postgresql+psycopg, mysql+aiomysql or "
            "sqlite+aiosqlite."
        )
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
            f"SQLAlchemy's asyncio extension: {driver_message(error, url)}"
        ) from None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise pytest.UsageError(
            "pytest-green-light creates per-worker databases for SQLite, PostgreSQL, "
            f"MySQL and MariaDB; {shown} (from {source}) is {url.get_backend_name()}."
        )
    if url.get_backend_name() == "sqlite" and (
        url.query.get("uri") in ("true", "1") or str(url.database).startswith("file:")
    ):
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) is a SQLite URI filename "
            "(file:…?uri=true), which pytest-green-light cannot give each worker a "
            "copy of. Use a path: sqlite+aiosqlite:///app.db."
        )
    if url.get_backend_name() != "sqlite" and not url.database:
        raise pytest.UsageError(
            f"The database URL {shown} (from {source}) names no database; each "
            "worker's database is named after it (app_gw0, app_gw1…). Add one: "
            f"{masked(url.set(database='app'))}."
        )
    return url
