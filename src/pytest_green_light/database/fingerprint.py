"""What a stored template was built from: the project's own answer
(``pytest_green_light_database_fingerprint``), else a hash of what a set-up reads."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import traceback

import pytest
from sqlalchemy.engine import URL

from pytest_green_light import __version__
from pytest_green_light.database.url import without

# Directories whose files are migrations, whatever they are written in.
MIGRATION_DIRECTORIES = frozenset({"alembic", "migrations"})


def fingerprint(config: pytest.Config, url: URL) -> str:
    """The hook's string, else the hash (``sha256:…``)."""
    try:
        answer = config.hook.pytest_green_light_database_fingerprint(config=config)
    except Exception as error:
        details = "".join(
            traceback.format_exception(type(error), error, error.__traceback__)
        )
        raise pytest.UsageError(
            "pytest_green_light_database_fingerprint raised, so pytest-green-light "
            f"cannot tell whether the stored template is up to date:\n{details}"
        ) from None
    if answer is None:
        return "sha256:" + _project_hash(config, url)
    if not isinstance(answer, str):
        raise pytest.UsageError(
            "pytest_green_light_database_fingerprint returned "
            f"{type(answer).__name__} {answer!r}; it must return a string (an alembic "
            "head revision, say) or None for the plugin's own hash."
        )
    return answer


def shown(value: str) -> str:
    """A fingerprint as the header shows it."""
    return value.removeprefix("sha256:")[:12]


def _project_hash(config: pytest.Config, url: URL) -> str:
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(
        without(url, "password").render_as_string(hide_password=False).encode()
    )
    root = str(config.rootpath)
    for path in sorted(_project_files(config, root)):
        digest.update(os.path.relpath(path, root).encode())
        with open(path, "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


def _project_files(config: pytest.Config, root: str) -> list[str]:
    """Every conftest.py and non-test module under the rootdir (not where pytest
    would not look: ``norecursedirs``, hidden directories, virtualenvs), and every
    file under a migrations directory."""
    skip = [str(pattern) for pattern in config.getini("norecursedirs")]
    test_files = [str(pattern) for pattern in config.getini("python_files")]
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name != "__pycache__"
            and not any(fnmatch.fnmatch(name, pattern) for pattern in skip)
            and not os.path.exists(os.path.join(directory, name, "pyvenv.cfg"))
        ]
        parts = set(os.path.relpath(directory, root).split(os.sep))
        for name in files:
            if (
                parts & MIGRATION_DIRECTORIES
                or name == "conftest.py"
                or (
                    name.endswith(".py")
                    and not any(
                        fnmatch.fnmatch(name, pattern) for pattern in test_files
                    )
                )
            ):
                found.append(os.path.join(directory, name))
    return found
