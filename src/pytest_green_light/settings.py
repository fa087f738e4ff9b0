"""Command-line options, ini keys and the frozen settings object built from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import pytest

LoopScope = Literal["session", "function"]
LeakedTasks = Literal["cancel", "warn", "ignore"]
SyncIOMode = Literal["test", "all", "off"]
SerialMode = Literal["isolated", "off"]

LOOP_SCOPES: tuple[LoopScope, ...] = ("session", "function")
LEAKED_TASKS: tuple[LeakedTasks, ...] = ("cancel", "warn", "ignore")
SYNC_IO_MODES: tuple[SyncIOMode, ...] = ("test", "all", "off")
SERIAL_MODES: tuple[SerialMode, ...] = ("isolated", "off")


@dataclass(frozen=True)
class Settings:
    """Everything the plugin reads from the command line and ini file, validated."""

    loop_scope: LoopScope
    autouse: bool
    debug: bool
    leaked_tasks: LeakedTasks
    sync_io: SyncIOMode
    serial: SerialMode
    db_url: str | None
    db_url_source: str  # where db_url came from, for messages
    keep_db: bool


SETTINGS_KEY = pytest.StashKey[Settings]()

DB_URL_ENV = "GREEN_LIGHT_DB_URL"

T = TypeVar("T")


def item_setting(item: pytest.Item, key: pytest.StashKey[T], default: T) -> T:
    """A per-test setting a marker stored on the item, else the session's ``default``.

    Not ``stash.get()``: it raises and catches KeyError for every unmarked test.
    """
    stash = item.stash
    return stash[key] if key in stash else default  # noqa: SIM401


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("green-light", "pytest-green-light")
    group.addoption(
        "--green-light-loop-scope",
        dest="green_light_loop_scope",
        default=None,
        metavar="SCOPE",
        help="Event loop scope: 'session' (one loop per worker, the default) or "
        "'function' (a fresh loop for every test). Overrides green_light_loop_scope.",
    )
    group.addoption(
        "--green-light-sync-io",
        dest="green_light_sync_io",
        default=None,
        metavar="MODE",
        help="Where sync code may do database IO inside async tests: 'test' (test "
        "modules and conftest files, the default), 'all' or 'off'. Overrides "
        "green_light_sync_io.",
    )
    group.addoption(
        "--green-light-serial",
        dest="green_light_serial",
        default=None,
        metavar="MODE",
        help="Under pytest-xdist, @pytest.mark.serial tests run after all others, one "
        "at a time: 'isolated' (the default) or 'off' (an ordinary marker). Overrides "
        "green_light_serial.",
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
    group.addoption(
        "--green-light-keep-db",
        dest="green_light_keep_db",
        action="store_true",
        default=False,
        help="Keep the databases pytest-green-light created, instead of dropping them "
        "at the end of the session.",
    )
    group.addoption(
        "--green-light-autouse",
        dest="green_light_autouse",
        action="store_true",
        default=None,
        help="Manage the event loop and greenlet context for every test (default).",
    )
    group.addoption(
        "--green-light-no-autouse",
        dest="green_light_autouse",
        action="store_false",
        help="Kept for 0.2.0: leave the plugin loaded but inert (no worker loop, no "
        "async runner, no pytest-asyncio changes), its markers and fixtures still "
        "registered. To run as if it were not installed: -p no:green_light.",
    )
    group.addoption(
        "--green-light-debug",
        dest="green_light_debug",
        action="store_true",
        default=None,
        help="Log lifecycle events to the 'pytest_green_light' logger at DEBUG level.",
    )
    parser.addini(
        "green_light_loop_scope",
        help="Event loop scope: session (default) or function.",
        default="session",
    )
    parser.addini(
        "green_light_sync_io",
        help="Where sync code may do database IO inside async tests: test (default), "
        "all or off.",
        default="test",
    )
    parser.addini(
        "green_light_serial",
        help="Under pytest-xdist, serial tests run after all others, one at a time: "
        "isolated (default) or off.",
        default="isolated",
    )
    parser.addini(
        "green_light_db_url",
        help="SQLAlchemy URL of the test database; each xdist worker gets its own. "
        "$GREEN_LIGHT_DB_URL overrides it.",
        default="",
    )
    parser.addini(
        "green_light_autouse",
        help="Manage the event loop and greenlet context for every test (default "
        "true; false: inert, see --green-light-no-autouse).",
        type="bool",
        default=True,
    )
    parser.addini(
        "green_light_debug",
        help="Log lifecycle events to the 'pytest_green_light' logger.",
        type="bool",
        default=False,
    )
    parser.addini(
        "green_light_leaked_tasks",
        help="What happens to tasks a test leaves running on a shared loop: "
        "cancel (default, with a warning), warn or ignore.",
        default="cancel",
    )


def _choice(
    config: pytest.Config, ini: str, valid: tuple[str, ...], option: str = ""
) -> str:
    """The CLI value when one was given (and only then), else the ini value; validated."""
    cli_value: str | None = (
        config.getoption(option.lstrip("-").replace("-", "_")) if option else None
    )
    value, source = (
        (cli_value, option) if cli_value is not None else (config.getini(ini), ini)
    )
    if value not in valid:
        raise pytest.UsageError(
            f"{value!r} is not a valid value for {source}. "
            f"Valid values are: {', '.join(valid)}."
        )
    return cast(str, value)


def _flag(config: pytest.Config, ini: str) -> bool:
    """The CLI flag when one was given, else the ini value (the dest equals the ini key)."""
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


def _db_url(config: pytest.Config) -> tuple[str | None, str]:
    """The database URL and where it came from: the CLI, then the environment, then
    the ini file."""
    candidates = (
        (config.getoption("green_light_db_url"), "--green-light-db-url"),
        (os.environ.get(DB_URL_ENV), f"${DB_URL_ENV}"),
        (config.getini("green_light_db_url"), "green_light_db_url"),
    )
    for value, source in candidates:
        if value:
            return value, source
    return None, ""


def read_settings(config: pytest.Config) -> Settings:
    """Read and validate the plugin's settings; a bad value is a usage error."""
    loop_scope = _choice(
        config, "green_light_loop_scope", LOOP_SCOPES, "--green-light-loop-scope"
    )
    leaked_tasks = _choice(config, "green_light_leaked_tasks", LEAKED_TASKS)
    sync_io = _choice(
        config, "green_light_sync_io", SYNC_IO_MODES, "--green-light-sync-io"
    )
    serial = _choice(config, "green_light_serial", SERIAL_MODES, "--green-light-serial")
    db_url, db_url_source = _db_url(config)
    return Settings(
        loop_scope=cast(LoopScope, loop_scope),
        autouse=_flag(config, "green_light_autouse"),
        debug=_flag(config, "green_light_debug"),
        leaked_tasks=cast(LeakedTasks, leaked_tasks),
        sync_io=cast(SyncIOMode, sync_io),
        serial=cast(SerialMode, serial),
        db_url=db_url,
        db_url_source=db_url_source,
        keep_db=bool(config.getoption("green_light_keep_db")),
    )
