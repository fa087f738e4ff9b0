# A throwaway MariaDB server on 127.0.0.1 for the test suite; sourced, not run.
#
#   start_mariadb    installs MariaDB from Debian's packages when it is missing,
#                    creates a data directory in a temporary directory, starts the
#                    server on a free port and exports GREEN_LIGHT_TEST_MYSQL_URL;
#                    stopped and removed again when the sourcing script exits.
#
# Nothing happens when GREEN_LIGHT_TEST_MYSQL_URL is already set (a server started by
# the caller, such as .ci/run, or one of your own). Needs _postgres.sh's _free_port.

# The user the tests connect as; the password has characters URLs must escape.
MYSQL_TEST_USER="green_light"
MYSQL_TEST_PASSWORD='s3cret:p@ss/word'
MYSQL_TEST_PASSWORD_IN_URL='s3cret%3Ap%40ss%2Fword'

_install_mariadb() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "MariaDB is not installed and this is not root: install Debian's" \
            "'mariadb-server' package, or set GREEN_LIGHT_TEST_MYSQL_URL to a server" \
            "of your own." >&2
        return 1
    fi
    echo "Installing MariaDB from Debian's packages..." >&2
    apt-get update -qq >&2
    # policy-rc.d: the package must not start (or enable) a system-wide server.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        mariadb-server >&2
    rm -f /usr/sbin/policy-rc.d
}

stop_mariadb() {
    [ -n "${_MARIADB_DIR:-}" ] || return 0
    if [ -f "$_MARIADB_DIR/server.pid" ]; then
        kill "$(cat "$_MARIADB_DIR/server.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    rm -rf "$_MARIADB_DIR"
    _MARIADB_DIR=""
}

start_mariadb() {
    [ -z "${GREEN_LIGHT_TEST_MYSQL_URL:-}" ] || return 0
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || _install_mariadb
    local mariadbd
    mariadbd="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
    _MARIADB_DIR="$(mktemp -d -t green-light-mariadb.XXXXXX)"
    # One EXIT trap for both servers: bash keeps only the last one set.
    trap 'stop_mariadb; stop_postgres 2>/dev/null || true' EXIT
    local user_option=()
    if [ "$(id -u)" -eq 0 ]; then
        chown -R mysql "$_MARIADB_DIR"
        user_option=(--user=mysql)
    fi
    mariadb-install-db --no-defaults "${user_option[@]}" --datadir="$_MARIADB_DIR/data" \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$_MARIADB_DIR/install.log" 2>&1 \
        || { cat "$_MARIADB_DIR/install.log" >&2; return 1; }
    local port
    port="$(_free_port)"
    # Durability off: a throwaway server, and CREATE DATABASE is faster without it.
    "$mariadbd" --no-defaults "${user_option[@]}" --datadir="$_MARIADB_DIR/data" \
        --bind-address=127.0.0.1 --port="$port" --socket="$_MARIADB_DIR/mysqld.sock" \
        --pid-file="$_MARIADB_DIR/server.pid" --log-error="$_MARIADB_DIR/server.log" \
        --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 --innodb-doublewrite=0 \
        --max-connections=300 --skip-name-resolve >"$_MARIADB_DIR/server.out" 2>&1 &
    local tries=0
    until mariadb-admin --no-defaults --socket="$_MARIADB_DIR/mysqld.sock" -uroot ping >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 60 ]; then
            cat "$_MARIADB_DIR/server.log" >&2
            return 1
        fi
        sleep 0.5
    done
    mariadb --no-defaults --socket="$_MARIADB_DIR/mysqld.sock" -uroot -e "
        CREATE USER '$MYSQL_TEST_USER'@'%' IDENTIFIED BY '$MYSQL_TEST_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_TEST_USER'@'%' WITH GRANT OPTION;
        CREATE USER 'green_light_reader'@'%' IDENTIFIED BY 'reader';
        GRANT SELECT ON *.* TO 'green_light_reader'@'%';"
    export GREEN_LIGHT_TEST_MYSQL_URL="mysql+aiomysql://$MYSQL_TEST_USER:$MYSQL_TEST_PASSWORD_IN_URL@127.0.0.1:$port/green_light"
    echo "MariaDB $("$mariadbd" --version | awk '{print $3}') on 127.0.0.1:$port (data in $_MARIADB_DIR)" >&2
}
