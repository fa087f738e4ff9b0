"""Options and ini keys: precedence and validation.

Read straight from a parsed config (no session runs); the usage error a user sees is
checked through in-process runs, which stop in ``pytest_configure`` before any loop or
worker exists.
"""

from __future__ import annotations

import pytest

from pytest_green_light.settings import Settings, read_settings


def settings(pytester: pytest.Pytester, *args: str, ini: str = "") -> Settings:
    pytester.makeini(f"[pytest]\n{ini}")
    return read_settings(pytester.parseconfig(*args))


def test_defaults(pytester: pytest.Pytester) -> None:
    defaults = settings(pytester)

    assert (defaults.loop_scope, defaults.sync_io, defaults.serial) == (
        "session",
        "test",
        "isolated",
    )
    assert (defaults.leaked_tasks, defaults.autouse, defaults.debug) == (
        "cancel",
        True,
        False,
    )
    assert (defaults.db_url, defaults.keep_db) == (None, False)


@pytest.mark.parametrize(
    ("args", "ini", "field", "expected"),
    [
        ((), "green_light_loop_scope = function", "loop_scope", "function"),
        (
            ("--green-light-loop-scope=function",),
            "green_light_loop_scope = weekly",  # the CLI wins before the ini is read
            "loop_scope",
            "function",
        ),
        (("--green-light-sync-io=all",), "green_light_sync_io = off", "sync_io", "all"),
        (("--green-light-serial=off",), "", "serial", "off"),
        ((), "green_light_leaked_tasks = warn", "leaked_tasks", "warn"),
        ((), "green_light_autouse = false", "autouse", False),
        (("--green-light-autouse",), "green_light_autouse = false", "autouse", True),
        (("--green-light-no-autouse",), "green_light_autouse = true", "autouse", False),
        ((), "green_light_debug = true", "debug", True),
        (("--green-light-debug",), "", "debug", True),
        (("--green-light-keep-db",), "", "keep_db", True),
        # Every setting both ways: these came with the one table of options.
        (
            ("--green-light-leaked-tasks=ignore",),
            "green_light_leaked_tasks = warn",
            "leaked_tasks",
            "ignore",
        ),
        ((), "green_light_keep_db = true", "keep_db", True),
        (("--green-light-no-keep-db",), "green_light_keep_db = true", "keep_db", False),
        (("--green-light-no-debug",), "green_light_debug = true", "debug", False),
    ],
)
def test_command_line_wins_over_the_ini_file(
    pytester: pytest.Pytester,
    args: tuple[str, ...],
    ini: str,
    field: str,
    expected: object,
) -> None:
    assert getattr(settings(pytester, *args, ini=ini), field) == expected


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ("--green-light-loop-scope=module",),
            "",
            "'module' is not a valid value for --green-light-loop-scope. "
            "Valid values are: session, function.",
        ),
        (
            (),
            "green_light_loop_scope = weekly",
            "'weekly' is not a valid value for green_light_loop_scope. "
            "Valid values are: session, function.",
        ),
        (
            (),
            "green_light_leaked_tasks = drop",
            "'drop' is not a valid value for green_light_leaked_tasks. "
            "Valid values are: cancel, warn, ignore.",
        ),
        (
            ("--green-light-sync-io=never",),
            "",
            "'never' is not a valid value for --green-light-sync-io. "
            "Valid values are: test, all, off.",
        ),
        (
            (),
            "green_light_debug = maybe",
            "Invalid value for green_light_debug: invalid truth value 'maybe'. "
            "Use true or false.",
        ),
        (
            ("--green-light-serial=sometimes",),
            "",
            "'sometimes' is not a valid value for --green-light-serial. "
            "Valid values are: isolated, off.",
        ),
    ],
)
def test_a_bad_value_is_a_usage_error_listing_the_valid_ones(
    pytester: pytest.Pytester, args: tuple[str, ...], ini: str, message: str
) -> None:
    with pytest.raises(pytest.UsageError) as raised:
        settings(pytester, *args, ini=ini)

    assert str(raised.value) == message


@pytest.mark.parametrize("xdist", [(), ("-n", "2")])
def test_the_user_sees_one_error_line_and_exit_code_4(
    pytester: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    """Under xdist the controller stops the run before any worker starts."""
    pytester.makepyfile("def test_nothing(): pass")

    result = pytester.runpytest_inprocess("--green-light-loop-scope=module", *xdist)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: 'module' is not a valid value for --green-light-loop-scope. "
            "Valid values are: session, function."
        ]
    )
    assert sum("ERROR:" in line for line in result.errlines) == 1


def test_database_url_from_the_command_line_then_the_environment_then_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = "green_light_db_url = sqlite+aiosqlite:///ini.db"
    cli = "--green-light-db-url=sqlite+aiosqlite:///cli.db"

    from_ini = settings(pytester, ini=ini)
    monkeypatch.setenv("GREEN_LIGHT_DB_URL", "sqlite+aiosqlite:///env.db")
    from_env = settings(pytester, ini=ini)
    from_cli = settings(pytester, cli, ini=ini)

    assert (from_ini.db_url, from_ini.db_url_source) == (
        "sqlite+aiosqlite:///ini.db",
        "green_light_db_url",
    )
    assert (from_env.db_url, from_env.db_url_source) == (
        "sqlite+aiosqlite:///env.db",
        "$GREEN_LIGHT_DB_URL",
    )
    assert (from_cli.db_url, from_cli.db_url_source) == (
        "sqlite+aiosqlite:///cli.db",
        "--green-light-db-url",
    )
    # For the report header.
    assert [s.sources["db_url"] for s in (from_ini, from_env, from_cli)] == [
        "ini file",
        "$GREEN_LIGHT_DB_URL",
        "command line",
    ]


@pytest.mark.parametrize(
    ("args", "ini", "source"),
    [
        ((), "", "default"),
        ((), "green_light_loop_scope = function", "ini file"),
        (("-o", "green_light_loop_scope=function"), "", "-o"),
        (
            ("--green-light-loop-scope=function",),
            "green_light_loop_scope = session",
            "command line",
        ),
    ],
)
def test_settings_say_where_each_value_came_from(
    pytester: pytest.Pytester, args: tuple[str, ...], ini: str, source: str
) -> None:
    read = settings(pytester, *args, ini=ini)

    assert read.sources["loop_scope"] == source
    assert read.sources["sync_io"] == "default"


def test_help_says_what_no_autouse_does_next_to_turning_the_plugin_off(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--help")

    help_text = " ".join(result.stdout.str().split())
    assert (
        "--green-light-no-autouse Kept for 0.2.0: leave the plugin loaded but inert (no "
        "worker loop, no async runner, no pytest-asyncio changes), its markers and "
        "fixtures still registered. To run as if it were not installed: "
        "-p no:green_light."
    ) in help_text
