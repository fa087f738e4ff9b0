"""What a database driver said, for the user: its own exception, message and
SQLSTATE, with the URL's password masked."""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.engine import URL


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception, not SQLAlchemy's wrapper around it."""
    original: BaseException = getattr(error, "orig", None) or error
    return original


def mask_password(message: str, password: str | None) -> str:
    """``message`` with ``password`` masked where it stands as the password: in a URL
    (``:password@``, as given or percent-encoded) or after ``password=`` / ``password:``
    — never inside other words, which a short password would make unreadable."""
    if not password:
        return message
    forms = "|".join(re.escape(form) for form in {password, quote(password, safe="")})
    message = re.sub(rf"(?<=:)(?:{forms})(?=@)", "***", message)
    return re.sub(
        rf"(?i)(password\s*[=:]\s*['\"]?)(?:{forms})(?=['\"]?(?:\W|$))",
        r"\1***",
        message,
    )


def driver_message(error: BaseException, url: URL) -> str:
    """The driver's own message, password masked."""
    original = _driver_error(error)
    message = f"{type(original).__name__}: {original}".strip()
    return mask_password(message, url.password)


def sqlstate(error: BaseException) -> str | None:
    original = _driver_error(error)
    for name in ("sqlstate", "pgcode"):  # psycopg, asyncpg through SQLAlchemy
        value = getattr(original, name, None)
        if isinstance(value, str):
            return value
    return None
