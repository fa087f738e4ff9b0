"""Command-line options, ini keys and the frozen settings object built from them."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Literal, cast

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

LoopScope = Literal["session", "function"]
LeakedTasks = Literal["cancel", "warn", "ignore"]
SyncIOMode = Literal["test", "all", "off"]
SerialMode = Literal["isolated", "off"]

LOOP_SCOPES: tuple[LoopScope, ...] = ("session", "function")
LEAKED_TASKS: tuple[LeakedTasks, ...] = ("cancel", "warn", "ignore")
SYNC_IO_MODES: tuple[SyncIOMode, ...] = ("test", "all", "off")
SERIAL_MODES: tuple[SerialMode, ...] = ("isolated", "off")


# Slotted classes, not NamedTuples (60 us each) or frozen dataclasses (2 ms): every
# pytest process imports this module.
class Settings:
    """Everything the plugin reads from the command line and ini file, validated.

    Read-only. Where each value came from (``sources``) is worked out when asked.
    """

    __slots__ = (
        "_sources",
        "autouse",
        "create_db",
        "db_url",
        "db_url_source",
        "debug",
        "for_tests",
        "keep_db",
        "leaked_tasks",
        "loop_scope",
        "reuse_db",
        "serial",
        "sync_io",
    )
    loop_scope: LoopScope
    autouse: bool
    debug: bool
    leaked_tasks: LeakedTasks
    sync_io: SyncIOMode
    serial: SerialMode
    db_url: str | None
    db_url_source: (
        str  # the option, variable or ini key db_url was set by, for messages
    )
    keep_db: bool
    reuse_db: bool
    create_db: bool
    for_tests: (
        ItemSettings  # loop scope and sync IO mode, as tests without their own get
    )
    _sources: Callable[[], dict[str, str]]

    def __init__(self, sources: Callable[[], dict[str, str]], **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_sources", sources)
        object.__setattr__(
            self, "for_tests", ItemSettings(self.loop_scope, self.sync_io)
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"pytest-green-light's settings are read-only ({name})")

    @property
    def sources(self) -> dict[str, str]:
        """Where each choice's value and the database URL came from, for the report
        header: "command line", "ini file", "-o", "default" or "$GREEN_LIGHT_DB_URL"."""
        return self._sources()


SETTINGS_KEY = pytest.StashKey[Settings]()

DB_URL_ENV = "GREEN_LIGHT_DB_URL"


_debug_log: logging.Logger | None = None


def enable_debug_log() -> None:
    """``--green-light-debug``: lifecycle events go to the ``pytest_green_light`` logger,
    at DEBUG. Without it the logger is not even created: pytest's log capture visits
    every logger in each phase of every test."""
    global _debug_log
    _debug_log = logging.getLogger("pytest_green_light")
    _debug_log.setLevel(logging.DEBUG)


def debug(message: str, *args: object) -> None:
    """Log a lifecycle event, with ``--green-light-debug``."""
    if _debug_log is not None:
        _debug_log.debug(message, *args)


class ItemSettings:
    """The settings each test may have its own of: its loop scope and sync IO mode.

    The session's are ``Settings.for_tests``; a test whose marker names one has its own,
    stored on the item at collection (``ITEM_SETTINGS_KEY``).
    """

    __slots__ = ("loop_scope", "sync_io")

    def __init__(self, loop_scope: LoopScope, sync_io: SyncIOMode) -> None:
        self.loop_scope = loop_scope
        self.sync_io = sync_io


ITEM_SETTINGS_KEY = pytest.StashKey[ItemSettings]()


def item_settings(item: pytest.Item, session: ItemSettings) -> ItemSettings:
    """The item's own settings if it has them, else the ``session``'s.

    Not ``stash.get()``: it raises and catches KeyError for every test without.
    """
    stash = item.stash
    return stash[ITEM_SETTINGS_KEY] if ITEM_SETTINGS_KEY in stash else session  # noqa: SIM401


class Choice:
    """A setting with a value from ``choices``: ``--green-light-NAME=VALUE`` and the ini
    key ``green_light_NAME``."""

    __slots__ = ("choices", "default", "help", "metavar", "name")

    def __init__(
        self,
        name: str,
        choices: tuple[str, ...],
        default: str,
        help: str,
        metavar: str = "MODE",
    ) -> None:
        self.name = name
        self.choices = choices
        self.default = default
        self.help = help
        self.metavar = metavar


class Flag:
    """An on/off setting: ``--green-light-NAME`` / ``--green-light-no-NAME`` and the ini
    key ``green_light_NAME`` (true/false)."""

    __slots__ = ("default", "help", "name", "off_help")

    def __init__(self, name: str, default: bool, help: str, off_help: str) -> None:
        self.name = name
        self.default = default
        self.help = help
        self.off_help = off_help


# Every setting both ways. The command line wins over the ini file (and, for the
# database URL, $GREEN_LIGHT_DB_URL comes between them).
CHOICES = (
    Choice(
        "loop_scope",
        LOOP_SCOPES,
        "session",
        "Event loop scope: 'session' (one loop per worker) or 'function' (a fresh "
        "loop for every test).",
        metavar="SCOPE",
    ),
    Choice(
        "sync_io",
        SYNC_IO_MODES,
        "test",
        "Where sync code may do database IO inside async tests: 'test' (test modules "
        "and conftest files), 'all' or 'off'.",
    ),
    Choice(
        "serial",
        SERIAL_MODES,
        "isolated",
        "Under pytest-xdist, @pytest.mark.serial tests run after all others, one at a "
        "time: 'isolated', or 'off' (an ordinary marker).",
    ),
    Choice(
        "leaked_tasks",
        LEAKED_TASKS,
        "cancel",
        "What happens to tasks a test leaves running on the shared loop: 'cancel' "
        "(with a warning), 'warn' or 'ignore'.",
        metavar="POLICY",
    ),
)
FLAGS = (
    Flag(
        "autouse",
        True,
        "Manage the event loop and greenlet context for every test.",
        "Kept for 0.2.0: leave the plugin loaded but inert (no worker loop, no async "
        "runner, no pytest-asyncio changes), its markers and fixtures still "
        "registered. To run as if it were not installed: -p no:green_light.",
    ),
    Flag(
        "debug",
        False,
        "Log lifecycle events to the 'pytest_green_light' logger at DEBUG level.",
        "No lifecycle logging.",
    ),
    Flag(
        "reuse_db",
        False,
        "Keep the databases' template after the run and reuse it while its "
        "fingerprint matches (the set-up hook is then not called).",
        "Build the template afresh each run and drop it at the end.",
    ),
    Flag(
        "create_db",
        False,
        "With --green-light-reuse-db: rebuild the stored template whatever its "
        "fingerprint.",
        "Reuse a stored template whose fingerprint matches.",
    ),
    Flag(
        "keep_db",
        False,
        "Keep the databases pytest-green-light created, instead of dropping them at "
        "the end of the session.",
        "Drop the databases pytest-green-light created at the end of the session.",
    ),
)


def _ini(name: str) -> str:
    return f"green_light_{name}"


def _option(name: str, prefix: str = "") -> str:
    return f"--green-light-{prefix}{name.replace('_', '-')}"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("green-light", "pytest-green-light")
    for choice in CHOICES:
        default = f"Default: {choice.default}; overrides {_ini(choice.name)}."
        group.addoption(
            _option(choice.name),
            dest=_ini(choice.name),
            default=None,
            metavar=choice.metavar,
            help=f"{choice.help} {default}",
        )
        parser.addini(
            _ini(choice.name),
            help=f"{choice.help} Default: {choice.default}.",
            default=choice.default,
        )
    for flag in FLAGS:
        state = "on" if flag.default else "off"
        group.addoption(
            _option(flag.name),
            dest=_ini(flag.name),
            action="store_true",
            default=None,
            help=f"{flag.help} Default: {state}; overrides {_ini(flag.name)}.",
        )
        group.addoption(
            _option(flag.name, "no-"),
            dest=_ini(flag.name),
            action="store_false",
            help=flag.off_help,
        )
        parser.addini(
            _ini(flag.name),
            help=f"{flag.help} Default: {str(flag.default).lower()}.",
            type="bool",
            default=flag.default,
        )
    group.addoption(
        "--green-light-db-url",
        dest="green_light_db_url",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of the test database; each xdist worker gets its own "
        "(name suffixed with _gw0, _gw1...). Overrides $GREEN_LIGHT_DB_URL and "
        "green_light_db_url.",
    )
    parser.addini(
        "green_light_db_url",
        help="SQLAlchemy URL of the test database; each xdist worker gets its own. "
        "$GREEN_LIGHT_DB_URL overrides it.",
        default="",
    )


def _choice(config: pytest.Config, choice: Choice) -> str:
    """The CLI value when one was given (and only then), else the ini value; validated."""
    cli_value: str | None = config.getoption(_ini(choice.name))
    if cli_value is not None:
        value, key = cli_value, _option(choice.name)
    else:
        key = _ini(choice.name)
        value = config.getini(key)
    if value not in choice.choices:
        raise pytest.UsageError(
            f"{value!r} is not a valid value for {key}. "
            f"Valid values are: {', '.join(choice.choices)}."
        )
    return str(value)


def _flag(config: pytest.Config, flag: Flag) -> bool:
    """The CLI flag when one was given, else the ini value."""
    ini = _ini(flag.name)
    cli_value: bool | None = config.getoption(ini)
    if cli_value is not None:
        return cli_value
    try:
        return bool(config.getini(ini))
    # pytest's message (a ValueError before 9, a UsageError since) names no key.
    except (ValueError, pytest.UsageError) as error:
        raise pytest.UsageError(
            f"Invalid value for {ini}: {error}. Use true or false."
        ) from None


def _db_url(config: pytest.Config) -> tuple[str | None, str, str | None]:
    """The database URL, the key it was set by (for messages), and where it came from
    (``Settings.sources``; None: the ini file or ``-o``, told apart when asked): the
    CLI, then the environment, then the ini file."""
    candidates = (
        (
            config.getoption("green_light_db_url"),
            "--green-light-db-url",
            "command line",
        ),
        (os.environ.get(DB_URL_ENV), f"${DB_URL_ENV}", f"${DB_URL_ENV}"),
        (config.getini("green_light_db_url"), "green_light_db_url", None),
    )
    for value, key, source in candidates:
        if value:
            return value, key, source
    return None, "", "default"


def _ini_source(config: pytest.Config, key: str, unset: str) -> str:
    """Where ini key ``key`` was set (``-o`` or the ini file), ``unset`` if it was not.

    Imports the upstream module: asked only by the report header and error messages,
    and every pytest process imports this module.
    """
    from pytest_green_light import upstream

    return upstream.ini_value_source(config, key) or unset


def _sources(
    config: pytest.Config, from_cli: dict[str, bool], db_url_source: str | None
) -> dict[str, str]:
    """Where each choice's value and the database URL came from (see
    ``Settings.sources``), given what was known when they were read."""
    sources = {
        name: "command line" if cli else _ini_source(config, _ini(name), "default")
        for name, cli in from_cli.items()
    }
    sources["db_url"] = db_url_source or _ini_source(
        config, "green_light_db_url", "ini file"
    )
    return sources


def read_settings(config: pytest.Config) -> Settings:
    """Read and validate the plugin's settings; a bad value is a usage error."""
    choices = {choice.name: _choice(config, choice) for choice in CHOICES}
    flags = {flag.name: _flag(config, flag) for flag in FLAGS}
    db_url, db_url_source, db_url_from = _db_url(config)
    from_cli = {
        choice.name: config.getoption(_ini(choice.name)) is not None
        for choice in CHOICES
    }
    return Settings(
        lambda: _sources(config, from_cli, db_url_from),
        loop_scope=cast(LoopScope, choices["loop_scope"]),
        autouse=flags["autouse"],
        debug=flags["debug"],
        leaked_tasks=cast(LeakedTasks, choices["leaked_tasks"]),
        sync_io=cast(SyncIOMode, choices["sync_io"]),
        serial=cast(SerialMode, choices["serial"]),
        db_url=db_url,
        db_url_source=db_url_source,
        keep_db=flags["keep_db"],
        reuse_db=flags["reuse_db"],
        create_db=flags["create_db"],
    )
