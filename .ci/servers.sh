#!/usr/bin/env bash
# Throwaway PostgreSQL and MariaDB servers on loopback, for rollsafe's live
# tests and for developers who want to rehearse against a real server.
#
#   .ci/servers.sh install            apt-get install postgresql, mariadb (if missing)
#   .ci/servers.sh start DIR          both servers under DIR; writes DIR/env
#   .ci/servers.sh stop DIR           stop both, remove DIR
#   .ci/servers.sh pg-start DIR PORT  one PostgreSQL cluster in DIR/pg
#   .ci/servers.sh pg-stop DIR [MODE] pg_ctl stop -m MODE (fast; immediate = crash)
#   .ci/servers.sh my-start DIR PORT  one MariaDB server in DIR/my
#   .ci/servers.sh my-stop DIR
#
# After `start`, `source DIR/env` sets what the live tests read:
#   ROLLSAFE_TEST_PG_URL      postgres://postgres@127.0.0.1:$PG_PORT/rollsafe
#   ROLLSAFE_TEST_MYSQL_HOST / _PORT / _USER / _PASSWORD / _DATABASE
#   ROLLSAFE_SERVERS_SCRIPT   this script, for tests that start their own cluster
# Ports: $ROLLSAFE_PG_PORT (54329) and $ROLLSAFE_MYSQL_PORT (33069), or the
# next free ones when those are taken; DIR/env has the ports used.
# Servers listen on 127.0.0.1 only, sockets live in DIR, data is thrown away.
# As root, PostgreSQL runs as the postgres user and MariaDB as mysql.
set -euo pipefail

SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
PG_PORT="${ROLLSAFE_PG_PORT:-54329}"
MY_PORT="${ROLLSAFE_MYSQL_PORT:-33069}"

die() { echo "servers.sh: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the postgres user when we are root (PostgreSQL refuses root).
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
        return
    fi
    command -v initdb >/dev/null 2>&1 || die "no initdb: run '$0 install' or install PostgreSQL"
    dirname "$(readlink -f "$(command -v initdb)")"
}

install() {
    local need=()
    [ -n "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
    command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
    # plan --schema-from reads live schemas with pg_dump and mariadb-dump (compat proof).
    command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
    { command -v mariadb && command -v mariadb-dump; } >/dev/null 2>&1 || need+=(mariadb-client)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # policy-rc.d in containers keeps the packaged services from starting;
        # we start our own throwaway servers below either way.
        apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

# The first port from $1 up that nothing listens on, so a second pair of
# servers (another checkout, a developer's) does not collide with this one.
free_port() {
    local port="$1"
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

prepare_dir() {
    mkdir -p "$1"
    # The server users must be able to reach their directories.
    chmod 755 "$1"
}

pg_start() {
    local dir="$1" port="$2" bin
    bin=$(pg_bin)
    prepare_dir "$dir"
    mkdir -p "$dir/pg"
    if is_root; then chown postgres: "$dir/pg"; fi
    as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/pg/initdb.log" 2>&1 \
        || { cat "$dir/pg/initdb.log" >&2; die "initdb failed"; }
    as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/pg" start >/dev/null \
        || { cat "$dir/pg/server.log" >&2; die "PostgreSQL did not start"; }
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres rollsafe
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $dir/pg/data)" >&2
}

pg_stop() {
    local dir="$1" mode="${2:-fast}" bin
    [ -d "$dir/pg/data" ] || return 0
    bin=$(pg_bin)
    as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

my_start() {
    local dir="$1" port="$2" user_args=() i
    prepare_dir "$dir"
    mkdir -p "$dir/my"
    if is_root; then
        chown mysql: "$dir/my"
        user_args=(--user=mysql)
    fi
    mariadb-install-db --no-defaults "${user_args[@]}" --datadir="$dir/my/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$dir/my/install.log" 2>&1 \
        || { cat "$dir/my/install.log" >&2; die "mariadb-install-db failed"; }
    local server
    server=$(command -v mariadbd || echo /usr/sbin/mariadbd)
    "$server" --no-defaults "${user_args[@]}" --datadir="$dir/my/data" \
        --bind-address=127.0.0.1 --port="$port" --socket="$dir/my/mysqld.sock" \
        --pid-file="$dir/my/mysqld.pid" --log-error="$dir/my/server.log" \
        --skip-name-resolve --innodb-buffer-pool-size=256M >/dev/null 2>&1 &
    for i in $(seq 1 120); do
        if mariadb-admin --no-defaults --socket="$dir/my/mysqld.sock" -u root ping >/dev/null 2>&1; then
            break
        fi
        [ "$i" -lt 120 ] || { cat "$dir/my/server.log" >&2; die "MariaDB did not start"; }
        sleep 0.5
    done
    mariadb --no-defaults --socket="$dir/my/mysqld.sock" -u root <<'SQL'
CREATE DATABASE rollsafe;
CREATE USER 'rollsafe'@'127.0.0.1' IDENTIFIED BY 'rollsafe';
GRANT ALL ON rollsafe.* TO 'rollsafe'@'127.0.0.1';
GRANT PROCESS ON *.* TO 'rollsafe'@'127.0.0.1';
SQL
    echo "MariaDB $(mariadb --no-defaults --socket="$dir/my/mysqld.sock" -u root -N -e 'select version()') on 127.0.0.1:$port (data $dir/my/data)" >&2
}

my_stop() {
    local dir="$1" pid i
    [ -f "$dir/my/mysqld.pid" ] || return 0
    pid=$(cat "$dir/my/mysqld.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
}

write_env() {
    local dir="$1"
    cat >"$dir/env" <<EOF
export ROLLSAFE_TEST_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/rollsafe
export ROLLSAFE_TEST_MYSQL_HOST=127.0.0.1
export ROLLSAFE_TEST_MYSQL_PORT=$MY_PORT
export ROLLSAFE_TEST_MYSQL_USER=rollsafe
export ROLLSAFE_TEST_MYSQL_PASSWORD=rollsafe
export ROLLSAFE_TEST_MYSQL_DATABASE=rollsafe
export ROLLSAFE_SERVERS_SCRIPT=$SCRIPT
EOF
    cat "$dir/env"
}

cmd="${1:-}"
case "$cmd" in
    install) install ;;
    start)
        dir="${2:?usage: $0 start DIR}"
        # A half-started pair is stopped again, so nothing is left running.
        started=0
        trap '[ "$started" = 1 ] || { pg_stop "$dir" immediate; my_stop "$dir"; }' EXIT
        PG_PORT=$(free_port "$PG_PORT")
        pg_start "$dir" "$PG_PORT"
        MY_PORT=$(free_port "$MY_PORT")
        my_start "$dir" "$MY_PORT"
        started=1
        write_env "$dir"
        ;;
    stop)
        dir="${2:?usage: $0 stop DIR}"
        pg_stop "$dir" fast
        my_stop "$dir"
        rm -rf "$dir"
        ;;
    pg-start) pg_start "${2:?DIR}" "${3:?PORT}" ;;
    pg-stop) pg_stop "${2:?DIR}" "${3:-fast}" ;;
    my-start) my_start "${2:?DIR}" "${3:?PORT}" ;;
    my-stop) my_stop "${2:?DIR}" ;;
    *)
        sed -n '2,20p' "$0" >&2
        exit 2
        ;;
esac
