#!/usr/bin/env bash
# Runs mentortrack's whole test suite: the root workspace (host + tests,
# against SQLite, PostgreSQL and headless Chromium) and the plugins workspace.
#
#   bash tests/run.sh [extra `cargo test` arguments]
#
# Works from any directory, on a fresh machine with only Rust installed (as
# root it apt-installs PostgreSQL and Chromium when missing) and on a
# developer machine where they are already installed.
#
# PostgreSQL: if MENTORTRACK_TEST_POSTGRES_URL is set it is used as is;
# otherwise a throwaway cluster is created in a temp dir on 127.0.0.1 (trust
# auth, fsync off) and removed on exit. The system cluster is never touched.
#
# Environment knobs:
#   MENTORTRACK_TEST_POSTGRES_URL  use this server instead of a throwaway one
#   MENTORTRACK_CHROMEDRIVER, MENTORTRACK_CHROMIUM  browser binaries
#   MENTORTRACK_SETUP_ONLY=1       set everything up, print the exports, run
#                                  no tests, then tear down again
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }
note() { printf 'tests/run.sh: %s\n' "$*"; }
die() {
    printf 'tests/run.sh: error: %s\n' "$*" >&2
    exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

PG_DIR=""
PG_BIN=""

cleanup() {
    local status=$?
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        stop_cluster "$PG_DIR"
        rm -rf "$PG_DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---------------------------------------------------------------------------
# apt
# ---------------------------------------------------------------------------
APT_UPDATED=0

# apt_install PKG...: quiet install; prints apt's output only on failure.
apt_install() {
    if ! is_root; then
        die "missing packages: $*
    Install them first, e.g.:  sudo apt-get update && sudo apt-get install -y $*
    (or set MENTORTRACK_TEST_POSTGRES_URL / MENTORTRACK_CHROMEDRIVER / MENTORTRACK_CHROMIUM)"
    fi
    command -v apt-get >/dev/null || die "apt-get not found; install manually: $*"
    local log
    log="$(mktemp)"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" = 0 ]; then
        note "apt-get update ..."
        if ! apt-get update -qq >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "apt-get update failed"
        fi
        APT_UPDATED=1
    fi
    note "apt-get install $* ..."
    if ! apt-get install -y -qq "$@" </dev/null >"$log" 2>&1; then
        tail -n 50 "$log" >&2
        rm -f "$log"
        die "apt-get install $* failed"
    fi
    rm -f "$log"
    note "installed $*"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Newest /usr/lib/postgresql/*/bin that has pg_ctl, initdb and postgres.
find_pg_bin() {
    local dir best=""
    while IFS= read -r dir; do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
            best="$dir"
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    printf '%s' "$best"
}

# Runs a command as the cluster's owner: `postgres` when we are root (root may
# not run initdb/postgres), else ourselves. From / so that `postgres` can read
# its cwd.
as_pg() {
    if is_root; then
        if command -v runuser >/dev/null; then
            (cd / && runuser -u postgres -- "$@")
        else
            # shellcheck disable=SC2016 # expanded by the inner shell
            (cd / && su postgres -s /bin/sh -c '"$0" "$@"' -- "$@")
        fi
    else
        (cd / && "$@")
    fi
}

port_in_use() {
    # A successful connect means something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop_cluster() { # DIR
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ] && [ -n "$PG_BIN" ]; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
    fi
}

# Removes throwaway clusters of earlier runs that were killed before their
# EXIT trap ran (their owner shell is gone). Clusters of runs still going on
# are left alone.
reap_stale_clusters() {
    local dir owner
    for dir in "${TMPDIR:-/tmp}"/mentortrack-pg.*; do
        [ -d "$dir" ] || continue
        owner="$(cat "$dir/owner.pid" 2>/dev/null || true)"
        if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
            continue
        fi
        # No owner file yet: maybe a run that is just starting; leave young dirs.
        if [ -z "$owner" ] && [ -z "$(find "$dir" -maxdepth 0 -mmin +10 2>/dev/null)" ]; then
            continue
        fi
        note "removing stale cluster $dir"
        stop_cluster "$dir"
        rm -rf "$dir" 2>/dev/null || note "could not remove $dir (not ours?)"
    done
}

start_cluster() {
    PG_BIN="$(find_pg_bin)"
    if [ -z "$PG_BIN" ]; then
        apt_install postgresql
        PG_BIN="$(find_pg_bin)"
        [ -n "$PG_BIN" ] || die "PostgreSQL installed but no /usr/lib/postgresql/*/bin/pg_ctl found"
    fi
    if is_root; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' missing (it comes with the postgresql package)"
    fi
    note "PostgreSQL binaries: $PG_BIN ($("$PG_BIN/postgres" --version))"

    reap_stale_clusters

    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mentortrack-pg.XXXXXX")"
    echo $$ >"$PG_DIR/owner.pid"
    mkdir "$PG_DIR/sock"
    if is_root; then chown -R postgres: "$PG_DIR"; fi

    if ! as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$PG_DIR/data/postgresql.conf" <<EOF

# mentortrack throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR/sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

    local port started=0
    for port in $(seq 55432 55531); do
        port_in_use "$port" && continue
        if as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$PG_DIR/data" \
            -l "$PG_DIR/server.log" -o "-p $port" >/dev/null 2>&1; then
            started=1
            break
        fi
        # Lost a race for the port? Try the next one; anything else is fatal.
        if grep -qE 'could not bind|could not create any TCP/IP sockets|Address already in use' \
            "$PG_DIR/server.log" 2>/dev/null; then
            : >"$PG_DIR/server.log"
            continue
        fi
        tail -n 30 "$PG_DIR/server.log" >&2 || true
        die "pg_ctl start failed"
    done
    [ "$started" = 1 ] || die "no free port in 55432-55531 for PostgreSQL"

    export MENTORTRACK_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    note "throwaway cluster in $PG_DIR on 127.0.0.1:$port"
}

setup_postgres() {
    section "PostgreSQL"
    if [ -n "${MENTORTRACK_TEST_POSTGRES_URL:-}" ]; then
        note "using MENTORTRACK_TEST_POSTGRES_URL from the environment: $(printf '%s' "$MENTORTRACK_TEST_POSTGRES_URL" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')"
    else
        start_cluster
    fi
    export MENTORTRACK_REQUIRE_POSTGRES=1
    if command -v psql >/dev/null; then
        local version
        version="$(psql "$MENTORTRACK_TEST_POSTGRES_URL" -XAtq -c 'select version()' 2>&1)" ||
            die "cannot connect to PostgreSQL: $version"
        note "connected: $version"
    fi
}

# ---------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------
setup_browser() {
    section "Chromium"
    local driver="${MENTORTRACK_CHROMEDRIVER:-/usr/bin/chromedriver}"
    local chromium="${MENTORTRACK_CHROMIUM:-/usr/bin/chromium}"
    if [ ! -x "$driver" ] || [ ! -x "$chromium" ]; then
        if [ -n "${MENTORTRACK_CHROMEDRIVER:-}${MENTORTRACK_CHROMIUM:-}" ]; then
            die "MENTORTRACK_CHROMEDRIVER=$driver / MENTORTRACK_CHROMIUM=$chromium: not executable"
        fi
        apt_install chromium chromium-driver
    fi
    [ -x "$driver" ] || die "$driver missing after install"
    [ -x "$chromium" ] || die "$chromium missing after install"
    export MENTORTRACK_CHROMEDRIVER="$driver"
    export MENTORTRACK_CHROMIUM="$chromium"
    export MENTORTRACK_REQUIRE_BROWSER=1
    # The Debian wrapper script prints a harmless shell warning on some
    # machines; ask the real binary for its version.
    note "$("$driver" --version 2>/dev/null | head -n 1)"
}

# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
section "Rust toolchain"
if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2
else
    note "rustup not found; assuming the wasm32-wasip2 target is installed"
fi
cargo --version

setup_postgres
setup_browser

if [ -n "${MENTORTRACK_SETUP_ONLY:-}" ]; then
    section "Setup only (MENTORTRACK_SETUP_ONLY is set): no tests run"
    printf 'export %s=%q\n' \
        MENTORTRACK_TEST_POSTGRES_URL "$MENTORTRACK_TEST_POSTGRES_URL" \
        MENTORTRACK_REQUIRE_POSTGRES "$MENTORTRACK_REQUIRE_POSTGRES" \
        MENTORTRACK_CHROMEDRIVER "$MENTORTRACK_CHROMEDRIVER" \
        MENTORTRACK_CHROMIUM "$MENTORTRACK_CHROMIUM" \
        MENTORTRACK_REQUIRE_BROWSER "$MENTORTRACK_REQUIRE_BROWSER"
    if [ "$#" -gt 0 ]; then
        # Handy for checks: run a command while the cluster is up.
        section "Running: $*"
        "$@"
    fi
    exit 0
fi

section "cargo test --workspace --locked${*:+ $*}"
cargo test --workspace --locked "$@"

if [ -f plugins/Cargo.toml ]; then
    section "cargo test --locked (plugins/)"
    (cd plugins && cargo test --locked)
fi

section "All tests passed"
