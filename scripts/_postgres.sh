# A throwaway PostgreSQL server on 127.0.0.1 for the test suite; sourced, not run.
#
#   start_postgres   installs PostgreSQL from Debian's packages when it is missing,
#                    creates a cluster in a temporary directory, starts it on a free
#                    port and exports GREEN_LIGHT_TEST_PG_URL; stopped and removed
#                    again when the sourcing script exits.
#
# Nothing happens when GREEN_LIGHT_TEST_PG_URL is already set (a server started by the
# caller, such as .ci/run, or one of your own).

# The superuser the tests connect as; the password has characters URLs must escape.
PG_TEST_USER="green_light"
PG_TEST_PASSWORD='s3cret:p@ss/word'
PG_TEST_PASSWORD_IN_URL='s3cret%3Ap%40ss%2Fword'

_pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

_install_postgres() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "PostgreSQL's initdb is not installed and this is not root:" \
            "install Debian's 'postgresql' package, or set GREEN_LIGHT_TEST_PG_URL" \
            "to a server of your own." >&2
        return 1
    fi
    echo "Installing PostgreSQL from Debian's packages..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql >&2
}

_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Run a PostgreSQL program as the owner of the cluster (PostgreSQL refuses root).
_as_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_postgres() {
    [ -n "${_PG_DIR:-}" ] || return 0
    _as_pg_owner "$_PG_BIN/pg_ctl" stop -D "$_PG_DIR/data" -m immediate -s >/dev/null 2>&1 || true
    rm -rf "$_PG_DIR"
    _PG_DIR=""
}

start_postgres() {
    [ -z "${GREEN_LIGHT_TEST_PG_URL:-}" ] || return 0
    _PG_BIN="$(_pg_bindir)"
    if [ -z "$_PG_BIN" ]; then
        _install_postgres
        _PG_BIN="$(_pg_bindir)"
    fi
    _PG_DIR="$(mktemp -d -t green-light-pg.XXXXXX)"
    trap stop_postgres EXIT
    printf '%s\n' "$PG_TEST_PASSWORD" >"$_PG_DIR/pwfile"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres "$_PG_DIR"
    fi
    _as_pg_owner "$_PG_BIN/initdb" -D "$_PG_DIR/data" -U "$PG_TEST_USER" \
        --pwfile="$_PG_DIR/pwfile" --auth=scram-sha-256 --encoding=UTF8 \
        --locale=C.UTF-8 >"$_PG_DIR/initdb.log" 2>&1 \
        || { cat "$_PG_DIR/initdb.log" >&2; return 1; }
    local port
    port="$(_free_port)"
    # fsync off: a throwaway cluster, and CREATE DATABASE is much faster without it.
    _as_pg_owner "$_PG_BIN/pg_ctl" start -D "$_PG_DIR/data" -w -s -l "$_PG_DIR/server.log" \
        -o "-h 127.0.0.1 -p $port -k $_PG_DIR -c fsync=off -c full_page_writes=off -c max_connections=200" \
        || { cat "$_PG_DIR/server.log" >&2; return 1; }
    export GREEN_LIGHT_TEST_PG_URL="postgresql+asyncpg://$PG_TEST_USER:$PG_TEST_PASSWORD_IN_URL@127.0.0.1:$port/green_light"
    echo "PostgreSQL $("$_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $_PG_DIR)" >&2
}
