# shellcheck shell=bash
# Shared logic of SignalCartel's operations scripts: settings, PID files, logs, start/stop.
# Source it from a script under scripts/; it is not meant to be run.

SC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SC_SERVICES=(website trading-engine market-data)

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    SC_RED=$'\e[31m' SC_GREEN=$'\e[32m' SC_YELLOW=$'\e[33m' SC_RESET=$'\e[0m'
else
    SC_RED="" SC_GREEN="" SC_YELLOW="" SC_RESET=""
fi

log() { printf '%s\n' "$*"; }
ok() { printf '%s%s%s\n' "$SC_GREEN" "$*" "$SC_RESET"; }
warn() { printf '%swarning:%s %s\n' "$SC_YELLOW" "$SC_RESET" "$*" >&2; }
err() { printf '%serror:%s %s\n' "$SC_RED" "$SC_RESET" "$*" >&2; }
die() { err "$*"; exit 1; }

# Absolute form of a path; relative paths are taken against the repository root.
sc_abs() {
    if [[ $1 == /* ]]; then printf '%s\n' "$1"; else printf '%s\n' "$SC_ROOT/$1"; fi
}

# Exports KEY=VALUE lines of .env (or $SIGNALCARTEL_ENV_FILE) without executing them as shell.
# Variables already set in the environment win over the file.
sc_load_env() {
    local file=${SIGNALCARTEL_ENV_FILE:-$SC_ROOT/.env} line key value n=0
    [[ -f $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
            die "$file line $n: expected KEY=VALUE"
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
            value=${BASH_REMATCH[1]}
        else
            value=${value%%[[:space:]]#*}
            value=${value%"${value##*[![:space:]]}"}
        fi
        [[ -n ${!key+x} ]] || export "$key=$value"
    done <"$file"
}

# Debian packages the scripts use at run time, and those a build needs.
SC_RUNTIME_PACKAGES=(curl procps iproute2 util-linux)
SC_BUILD_PACKAGES=(libsqlite3-dev)
# shellcheck disable=SC2034 # used by scripts/test.sh and .ci/run
SC_TEST_PACKAGES=(libsqlite3-dev sqlite3 shellcheck curl procps iproute2 util-linux chromium chromium-driver postgresql redis-server redis-tools
    prometheus docker-compose kubectl systemd python3-venv)
# What scripts/check-deploy.sh needs (static checks of Dockerfile, compose, Prometheus, systemd, Kubernetes).
# shellcheck disable=SC2034 # used by scripts/check-deploy.sh
SC_DEPLOY_CHECK_PACKAGES=(prometheus docker-compose kubectl systemd python3-venv)

# Installs the Debian packages that are missing (as root, or through sudo); elsewhere says what
# to install and fails. On a system without dpkg it trusts the caller and returns.
sc_ensure_packages() {
    local package missing=()
    command -v dpkg-query >/dev/null || return 0
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]} > 0)) || return 0
    local as_root=(env DEBIAN_FRONTEND=noninteractive)
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "missing packages: ${missing[*]} (run: apt-get install ${missing[*]})"
        as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
    fi
    log "installing missing packages: ${missing[*]}"
    if ! "${as_root[@]}" apt-get update -qq || ! "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; then
        die "could not install: ${missing[*]}"
    fi
}

sc_require_number() { # NAME VALUE
    [[ $2 =~ ^[0-9]+$ ]] || die "$1='$2' is invalid: expected a whole number"
}

# Loads settings, resolves directories and exports what the services read.
sc_init() {
    sc_load_env
    cd "$SC_ROOT" || die "cannot enter $SC_ROOT"
    PID_DIR=$(sc_abs "${SIGNALCARTEL_PID_DIR:-/tmp}")
    LOG_DIR=$(sc_abs "${SIGNALCARTEL_LOG_DIR:-logs}")
    BIN_DIR=$(sc_abs "${SIGNALCARTEL_BIN_DIR:-.build/release}")
    START_TIMEOUT=${START_TIMEOUT:-30}
    STOP_TIMEOUT=${STOP_TIMEOUT:-10}
    LOG_MAX_MB=${LOG_MAX_MB:-50}
    LOG_KEEP=${LOG_KEEP:-5}
    WEBSITE_HOST=${WEBSITE_HOST:-127.0.0.1}
    WEBSITE_PORT=${WEBSITE_PORT:-3001}
    MARKET_DATA_METRICS_PORT=${MARKET_DATA_METRICS_PORT:-9092}
    TRADING_METRICS_PORT=${TRADING_METRICS_PORT:-9091}
    DATABASE_URL=${DATABASE_URL:-sqlite:data/signalcartel.sqlite}
    local name
    for name in START_TIMEOUT STOP_TIMEOUT LOG_MAX_MB LOG_KEEP WEBSITE_PORT MARKET_DATA_METRICS_PORT TRADING_METRICS_PORT; do
        sc_require_number "$name" "${!name}"
    done
    SIGNALCARTEL_LOG_DIR=$LOG_DIR
    export WEBSITE_HOST WEBSITE_PORT MARKET_DATA_METRICS_PORT TRADING_METRICS_PORT DATABASE_URL SIGNALCARTEL_LOG_DIR
    mkdir -p "$PID_DIR" "$LOG_DIR" || die "cannot create $PID_DIR or $LOG_DIR"
}

sc_check_service() {
    case $1 in
    website | trading-engine | market-data) ;;
    *) die "unknown service '$1' (expected one of: ${SC_SERVICES[*]})" ;;
    esac
}

sc_pidfile() {
    case $1 in
    trading-engine) printf '%s\n' "$PID_DIR/signalcartel-trading.pid" ;;
    *) printf '%s\n' "$PID_DIR/signalcartel-$1.pid" ;;
    esac
}
# The TCP port a service listens on (empty when it has none).
sc_service_port() {
    case $1 in
    website) printf '%s\n' "$WEBSITE_PORT" ;;
    market-data) printf '%s\n' "$MARKET_DATA_METRICS_PORT" ;;
    trading-engine) [[ ${MARKET_DATA_MODE:-embedded} == embedded ]] && printf '%s\n' "$TRADING_METRICS_PORT" || printf '\n' ;;
    *) printf '\n' ;;
    esac
}
sc_port_setting() {
    case $1 in
    website) echo WEBSITE_PORT ;;
    market-data) echo MARKET_DATA_METRICS_PORT ;;
    *) echo TRADING_METRICS_PORT ;;
    esac
}
sc_logfile() { printf '%s\n' "$LOG_DIR/$1.log"; }
sc_bin() { printf '%s\n' "$BIN_DIR/$1"; }

# True when PID is a live process (not a zombie).
sc_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# True when PID runs this service's binary (guards against a reused PID).
sc_is_our_binary() {
    local exe want
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    want=$(readlink -f "$(sc_bin "$2")" 2>/dev/null) || want=$(sc_bin "$2")
    [[ $exe == "$want" ]]
}

# Sets SC_STATE (none | running | dead | reused | invalid) and SC_PID for a service.
sc_pid_state() {
    local file pid
    file=$(sc_pidfile "$1")
    SC_PID=""
    if [[ ! -f $file ]]; then SC_STATE=none; return; fi
    pid=$(tr -d '[:space:]' <"$file" 2>/dev/null || true)
    if [[ ! $pid =~ ^[1-9][0-9]*$ ]]; then SC_STATE=invalid; return; fi
    SC_PID=$pid
    if ! sc_alive "$pid"; then
        SC_STATE=dead
    elif sc_is_our_binary "$pid" "$1"; then
        SC_STATE=running
    else
        SC_STATE=reused
    fi
}

# Rotates a log over LOG_MAX_MB, keeping LOG_KEEP numbered copies (file.1 is the newest).
sc_rotate_log() {
    local file=$1 size i
    [[ -f $file ]] || return 0
    size=$(stat -c %s "$file")
    ((size > LOG_MAX_MB * 1024 * 1024)) || return 0
    if ((LOG_KEEP == 0)); then
        rm -f "$file"
        return 0
    fi
    rm -f "$file.$LOG_KEEP"
    for ((i = LOG_KEEP - 1; i >= 1; i--)); do
        if [[ -f $file.$i ]]; then mv "$file.$i" "$file.$((i + 1))"; fi
    done
    mv "$file" "$file.1"
    log "rotated $file (over ${LOG_MAX_MB} MB)"
}

# Builds the release binaries when the default binary directory lacks them.
sc_ensure_binary() {
    local bin
    bin=$(sc_bin "$1")
    [[ -x $bin ]] && return 0
    if [[ $BIN_DIR != "$SC_ROOT/.build/release" ]]; then
        die "$bin not found (SIGNALCARTEL_BIN_DIR=$BIN_DIR); build it or unset SIGNALCARTEL_BIN_DIR"
    fi
    command -v swift >/dev/null || die "$bin not found and no swift toolchain to build it"
    sc_ensure_packages "${SC_BUILD_PACKAGES[@]}"
    log "building release binaries (the first build takes several minutes)..."
    sc_release_build website trading-engine market-data || die "release build failed"
    [[ -x $bin ]] || die "$bin still missing after the build"
}

# Builds release products into .build/release. The Swift runtime and Foundation are linked
# statically (with the linker settings in Package.swift this is what keeps each idle service
# under 30 MB resident); every release build uses the same flags so products never relink
# each other's dependencies.
# Every function, Swift and C alike, goes in a section of its own, so that the link can place
# the functions an idle service runs next to each other (linker/hot-functions.order, see
# Package.swift): about 2 MB less resident code per service than ordering whole object files.
SC_RELEASE_FLAGS=(-c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
sc_release_build() {
    local product
    for product in "$@"; do
        (cd "$SC_ROOT" && swift build "${SC_RELEASE_FLAGS[@]}" --product "$product") || return 1
    done
}

# The newest installed PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/N/bin).
sc_pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/pg_ctl ]] || return 1
    printf '%s\n' "$dir"
}

# Starts a throwaway PostgreSQL cluster in DIR (created empty): initdb as an unprivileged user
# (the Debian package's `postgres` when run as root), trust auth for the user `signalcartel`,
# listening on a free loopback port from 55432 and on a unix socket in DIR, with a database
# `signalcartel_test`. Never touches a cluster already running. Prints the URL.
# max_connections=400: the test suite runs many pools and service processes at once.
sc_pg_start() { # DIR
    local dir=$1 bin port as=()
    bin=$(sc_pg_bindir) || die "PostgreSQL server programs not found (apt-get install postgresql)"
    port=$(sc_free_port 55432)
    mkdir -p "$dir"
    if ((EUID == 0)); then
        id -u postgres > /dev/null 2>&1 || die "no 'postgres' user to run the throwaway cluster as"
        chown postgres "$dir"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U signalcartel --auth=trust -E UTF8 --locale=C > "$dir/initdb.log" 2>&1 ||
        die "initdb failed: see $dir/initdb.log"
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start > /dev/null ||
        die "PostgreSQL did not start: see $dir/server.log"
    "${as[@]}" "$bin/createdb" -h "$dir" -p "$port" -U signalcartel signalcartel_test ||
        die "could not create the test database"
    printf '%s\n' "$port" >"$dir/port"
    printf 'postgres://signalcartel@127.0.0.1:%s/signalcartel_test\n' "$port"
}

# Stops or starts again (same port) a cluster sc_pg_start made in DIR: tests take the server
# away under running services.
sc_pg_ctl() { # DIR stop|start
    local dir=$1 bin as=()
    bin=$(sc_pg_bindir) || die "PostgreSQL server programs not found"
    ((EUID == 0)) && as=(runuser -u postgres --)
    case $2 in
    stop) "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
    start)
        "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
        ;;
    *) die "sc_pg_ctl: expected stop or start, got '$2'" ;;
    esac
}

# Stops a cluster sc_pg_start made in DIR and removes DIR.
sc_pg_stop() { # DIR
    local dir=$1 bin as=()
    [[ -d $dir/data ]] || return 0
    bin=$(sc_pg_bindir) || return 0
    ((EUID == 0)) && as=(runuser -u postgres --)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
    rm -rf "$dir"
}

# Starts a throwaway redis-server (no persistence) on a free loopback port with its files in
# DIR; prints its URL.
sc_redis_start() { # DIR
    local dir=$1 port
    command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
    port=$(sc_free_port 56379)
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
        die "redis-server did not start: see $dir/redis.log"
    local _
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    redis-cli -p "$port" ping >/dev/null 2>&1 || die "redis-server does not answer: see $dir/redis.log"
    printf '%s\n' "$port" >"$dir/port"
    printf 'redis://127.0.0.1:%s/0\n' "$port"
}

# Stops a server sc_redis_start made in DIR and removes DIR.
sc_redis_stop() { # DIR
    local dir=$1 pid
    if [[ -f $dir/redis.pid ]]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        local _
        for _ in $(seq 100); do sc_alive "$pid" || break; sleep 0.05; done
    fi
    rm -rf "$dir"
}

# Prints the first port from $1 upwards that nothing listens on.
sc_free_port() {
    local port=$1
    while sc_port_busy "$port"; do port=$((port + 1)); done
    printf '%s\n' "$port"
}

# Prints who listens on a TCP port (empty when nobody or unknown).
sc_port_holder() {
    command -v ss >/dev/null || return 0
    ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n 1 || true
}

sc_port_busy() {
    if command -v ss >/dev/null; then
        [[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# The address the health check uses for the website.
sc_website_url() {
    local host=$WEBSITE_HOST
    case $host in 0.0.0.0 | "*" | "") host=127.0.0.1 ;; :: | "[::]") host="[::1]" ;; esac
    printf 'http://%s:%s\n' "$host" "$WEBSITE_PORT"
}

# HTTP status of /api/health ("000" when nothing answers).
sc_website_health_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time "${1:-2}" "$(sc_website_url)/api/health" || true
}

# True once a service is healthy: website answers /api/health with 200; the others have
# written a heartbeat from this very PID.
sc_is_healthy() { # SERVICE PID
    case $1 in
    website) [[ $(sc_website_health_code 1) == 200 ]] ;;
    *) "$(sc_bin "$1")" status --pid "$2" >/dev/null 2>&1 ;;
    esac
}

sc_wait_healthy() { # SERVICE PID
    local deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS <= deadline)); do
        sc_alive "$2" || return 1
        sc_is_healthy "$1" "$2" && return 0
        sleep 0.1
    done
    return 1
}

sc_start() {
    local svc=$1 bin pidfile logfile pid holder port
    sc_check_service "$svc"
    bin=$(sc_bin "$svc")
    pidfile=$(sc_pidfile "$svc")
    logfile=$(sc_logfile "$svc")
    sc_pid_state "$svc"
    case $SC_STATE in
    running)
        log "$svc already running (PID $SC_PID)"
        return 0
        ;;
    dead) log "$svc: removing stale PID file $pidfile (PID $SC_PID is not running)" ;;
    reused) log "$svc: removing stale PID file $pidfile (PID $SC_PID is another program now)" ;;
    invalid) log "$svc: removing stale PID file $pidfile (it holds no PID)" ;;
    esac
    rm -f "$pidfile"
    sc_ensure_packages "${SC_RUNTIME_PACKAGES[@]}"
    sc_ensure_binary "$svc"
    port=$(sc_service_port "$svc")
    if [[ -n $port ]] && sc_port_busy "$port"; then
        holder=$(sc_port_holder "$port")
        err "port $port is already in use${holder:+ by $holder}; stop it or set $(sc_port_setting "$svc")"
        return 1
    fi
    sc_rotate_log "$logfile"
    setsid nohup "$bin" >>"$logfile" 2>&1 </dev/null &
    pid=$!
    printf '%s\n' "$pid" >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"
    if sc_wait_healthy "$svc" "$pid"; then
        ok "$svc started (PID $pid, log $logfile)"
        return 0
    fi
    if sc_alive "$pid"; then
        err "$svc did not become healthy within ${START_TIMEOUT}s; last 20 log lines of $logfile:"
    else
        err "$svc exited during start-up; last 20 log lines of $logfile:"
    fi
    tail -n 20 "$logfile" >&2
    sc_stop "$svc" >/dev/null
    rm -f "$pidfile"
    return 1
}

sc_stop() {
    local svc=$1 pidfile pid deadline
    sc_check_service "$svc"
    pidfile=$(sc_pidfile "$svc")
    sc_pid_state "$svc"
    case $SC_STATE in
    none)
        log "$svc not running"
        return 0
        ;;
    dead | invalid | reused)
        log "$svc not running (removing stale PID file $pidfile)"
        rm -f "$pidfile"
        return 0
        ;;
    esac
    pid=$SC_PID
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while sc_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if sc_alive "$pid"; then
        warn "$svc (PID $pid) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 5))
        while sc_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    fi
    if sc_alive "$pid"; then
        err "$svc (PID $pid) survived SIGKILL; PID file kept"
        return 1
    fi
    rm -f "$pidfile"
    log "$svc stopped"
}

# Escapes a string for a JSON string literal.
sc_json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    s=${s//$'\n'/\\n}
    s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
    printf '"%s"' "$s"
}
