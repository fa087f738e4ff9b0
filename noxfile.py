"""The version matrix: `nox -s matrix` runs the `compat` tests once per cell below.

`scripts/test` runs the whole suite once, on the newest versions; a cell re-runs only the
tests marked `compat` (the behaviour that depends on the versions installed), which are
parametrized over pytest-asyncio's strict and auto modes and the plugin's own runner.

`.ci/run` runs the cells tagged `ci` (`nox -t ci`): between them they carry the oldest
and newest supported version of every dependency. The GitHub workflow runs them all.

`nox -s canary` runs the same tests against the newest pre-releases of everything the
plugin relies on (weekly in GitHub Actions, never in `.ci/run`, which stays
deterministic): a contract test that fails there names the upstream assumption that
will no longer hold (`tests/test_upstream_contract.py`).
"""

from __future__ import annotations

import fnmatch
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix", "unsupported_pytest_asyncio", "docs", "package"]


class Cell(NamedTuple):
    python: str
    pytest: str
    pytest_asyncio: str | None  # None: not installed
    xdist: str
    sqlalchemy: str
    ci: bool = False  # also run by .ci/run

    @property
    def id(self) -> str:
        asyncio = (
            f"asyncio{self.pytest_asyncio}" if self.pytest_asyncio else "no-asyncio"
        )
        return f"py{self.python}-pytest{self.pytest}-{asyncio}-xdist{self.xdist}-sa{self.sqlalchemy}"


LATEST = "latest"

# A covering subset: the declared lower bounds (Python 3.9, pytest 8.2, pytest-asyncio
# 0.24, xdist 3.5, SQLAlchemy 2.0.31) in one cell and the newest of everything in
# another; every pytest-asyncio line (none, 0.24, 0.26, 1.0, 1.3, latest; 0.26 is the
# last with the event_loop fixture and the first with a test default); both pytest majors;
# xdist 3.5 (tests in a non-main thread) and latest; SQLAlchemy 2.0 and 2.1; Python
# 3.9-3.13. pytest-asyncio < 1.3 requires pytest < 9; SQLAlchemy 2.1 and pytest 9
# require newer Pythons.
CELLS = [
    Cell("3.9", "8.2", "0.24", "3.5", "2.0.31", ci=True),
    Cell("3.9", "8.4", None, "3.5", "2.0"),
    Cell("3.10", "8.4", "0.26", LATEST, "2.0", ci=True),
    Cell("3.10", "8.4", "1.0", "3.5", "2.0", ci=True),
    Cell("3.11", "8.4", LATEST, "3.5", "2.0"),
    Cell("3.11", "9", "1.3", LATEST, "2.1"),
    Cell("3.12", "9", None, LATEST, "2.1", ci=True),
    Cell("3.12", "9", LATEST, LATEST, "2.1"),
    Cell("3.13", "9", LATEST, "3.5", "2.1"),
    Cell("3.13", "9", LATEST, LATEST, "2.1", ci=True),
]


def _pin(name: str, version: str | None) -> str:
    return name if version in (None, LATEST) else f"{name}=={version}.*"


@nox.session
@nox.parametrize(
    ("python", "cell"),
    [(cell.python, cell) for cell in CELLS],
    ids=[cell.id for cell in CELLS],
    tags=[["ci"] if cell.ci else [] for cell in CELLS],
)
def matrix(session: nox.Session, cell: Cell) -> None:
    packages = [
        _pin("pytest", cell.pytest),
        _pin("pytest-xdist", cell.xdist),
        _pin("sqlalchemy", cell.sqlalchemy),
        "-e",
        ".[test]",
    ]
    if cell.pytest_asyncio:
        packages.append(_pin("pytest-asyncio", cell.pytest_asyncio))
    if cell.xdist == "3.5":
        # The execnet of xdist 3.5's day: with it, `--tx popen//env:...` workers run
        # tests in a non-main thread (Dummy-1), which the tests must see.
        packages.append("execnet<2.1")
    session.install(*packages)
    session.run("python", "-m", "pytest", "-n", "2", "-m", "compat", *session.posargs)


@nox.session(python="3.13", tags=["ci"])
def combinations(session: nox.Session) -> None:
    """The less usual combinations of tests that do not depend on the versions
    installed (every_combination, not compat), once, on the newest versions; the
    docs session runs those of the docs tests."""
    session.install("-e", ".[test]", "pytest-asyncio")
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "2",
        "-m",
        "every_combination and not compat",
        "--ignore=tests/test_docs.py",
        *session.posargs,
    )


@nox.session(python="3.11", tags=["ci"])
def unsupported_pytest_asyncio(session: nox.Session) -> None:
    """pytest-asyncio 0.23, below the supported range: the run stops with one line.

    The outer run goes without the plugin, which would stop it too.
    """
    session.install("pytest-asyncio==0.23.*", "-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:green_light",
        "tests/test_unsupported_pytest_asyncio.py",
        *session.posargs,
    )


@nox.session(python="3.11", tags=["ci"])
def docs(session: nox.Session) -> None:
    """Every example of README.md and docs/ in every mode it claims, with and without
    xdist, in a virtualenv with only the published extras a user installs (plus
    pytest-timeout, which the outer run's configuration names, and alembic, which the
    alembic example of docs/databases.md uses as its project would)."""
    session.install("-e", ".[xdist,asyncio,sqlite]", "pytest-timeout", "alembic")
    session.run(
        "python", "-m", "pytest", "-n", "2", "tests/test_docs.py", *session.posargs
    )


# The extras the README tells users to install.
USER_EXTRAS = "xdist,asyncio,sqlite"


@nox.session(python="3.11", tags=["ci"])
def package(session: nox.Session) -> None:
    """The distribution users download: sdist and wheel built and checked by twine;
    the sdist holds the tests and docs, the wheel only the package and py.typed; the
    wheel, not this checkout, installed with the README's extras in a fresh virtualenv,
    where the README's quick start runs at -n 2."""
    session.install("twine")
    work = Path(session.create_tmp()).resolve()
    dist, user_venv, project = work / "dist", work / "user-venv", work / "quickstart"
    for path in (dist, user_venv, project):
        shutil.rmtree(path, ignore_errors=True)
    built = session.run(
        "uv", "build", "--quiet", "--out-dir", str(dist), external=True, silent=True
    )
    if built is None:  # --install-only (as .ci/run prepares): nothing runs
        return
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    session.run("twine", "check", "--strict", str(sdist), str(wheel))
    _check_sdist(session, sdist)
    _check_wheel(session, wheel)

    session.run(
        "uv", "venv", "--quiet", "--python", "3.11", str(user_venv), external=True
    )
    python = str(user_venv / "bin" / "python")
    session.run(
        "uv", "pip", "install", "--quiet", "--python", python,
        f"{wheel}[{USER_EXTRAS}]", external=True,
    )  # fmt: skip
    quickstart = _readme_example("quickstart")
    for name, text in quickstart.files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    session.chdir(project)
    output = session.run(
        python, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", *quickstart.args,
        external=True, silent=True,
    )  # fmt: skip
    session.chdir(Path(__file__).parent)
    _expect_outcome(session, str(output), quickstart)


def _check_sdist(session: nox.Session, sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        # Paths inside the sdist, below its top directory.
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [
        wanted
        for wanted in ("src/pytest_green_light/py.typed", "tests/conftest.py",
                       "docs/loop-scope.md", "README.md", "CHANGELOG.md", "LICENSE")
        if wanted not in names
    ]  # fmt: skip
    if missing:
        session.error(f"{sdist.name} lacks {', '.join(missing)}")


def _check_wheel(session: nox.Session, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    extra = [
        name
        for name in names
        if not name.startswith("pytest_green_light/") and ".dist-info/" not in name
    ]
    if extra:
        session.error(f"{wheel.name} holds more than the package: {', '.join(extra)}")
    if "pytest_green_light/py.typed" not in names:
        session.error(f"{wheel.name} lacks pytest_green_light/py.typed")


def _readme_example(name: str) -> Any:
    """The README's example ``name``, read as tests/test_docs.py reads it."""
    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    try:
        from doc_examples import read_examples
    finally:
        sys.path.pop(0)
    examples, _ = read_examples(Path(__file__).parent / "README.md", "README.md")
    return next(example for example in examples if example.name == name)


def _expect_outcome(session: nox.Session, output: str, example: Any) -> None:
    lines = output.splitlines()
    summary = lines[-1] if lines else ""
    wanted = [f"{count} {kind}" for kind, count in example.outcome.items()]
    problems = [
        f"not {want!r} in {summary!r}" for want in wanted if want not in summary
    ]
    problems += [
        f"no line matches {pattern!r}"
        for pattern in example.expect
        if not any(fnmatch.fnmatch(line, pattern) for line in lines)
    ]
    if problems:
        session.error(
            "the quick start from the wheel: " + "; ".join(problems) + "\n" + output
        )


# What the plugin relies on beyond documented interfaces lives in these (upstream.py).
CANARY_PACKAGES = (
    "pytest",
    "pytest-asyncio",
    "pytest-xdist",
    "execnet",
    "sqlalchemy",
    "greenlet",
    "anyio",
)


@nox.session(python="3.13")
def canary(session: nox.Session) -> None:
    """The contract tests and the compat subset against the newest pre-releases (the
    newest releases where none is newer) of what the plugin relies on."""
    session.install("-e", ".[test]")
    session.install("--pre", "--upgrade", *CANARY_PACKAGES)
    # Which versions were tested, for the report of a failure.
    session.run("uv", "pip", "list", external=True, silent=False)
    session.run("python", "-m", "pytest", "-n", "2", "-m", "compat", *session.posargs)
