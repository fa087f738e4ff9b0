"""What a database driver said, for the user: its own exception, message and
SQLSTATE, with the URL's password masked."""

from __future__ import annotations

from sqlalchemy.engine import URL


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception, not SQLAlchemy's wrapper around it."""
    original: BaseException = getattr(error, "orig", None) or error
    return original


def driver_message(error: BaseException, url: URL) -> str:
    """The driver's own message, password masked."""
    original = _driver_error(error)
    message = f"{type(original).__name__}: {original}".strip()
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def sqlstate(error: BaseException) -> str | None:
    original = _driver_error(error)
    for name in ("sqlstate", "pgcode"):  # psycopg, asyncpg through SQLAlchemy
        value = getattr(original, name, None)
        if isinstance(value, str):
            return value
    return None
