#!/usr/bin/env bash
# Benchmark: time from `start-server-decoupled.sh minimal` to healthy (built binaries), and the
# resident memory of each idle service, in an isolated sandbox (own PID dir, logs, database and
# a free port; your running installation is not touched).
# Usage: benchmarks/startup-memory.sh [RUNS] [IDLE_SECONDS]   (defaults 5 and 60)
# Market data comes from a local fake Kraken (never the real exchange).
# Baselines measured in the same run: the bare exec of the same binaries (`--version`) for the
# start-up time, and each service's own memory 5 s after start for the idle figure.
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

runs=${1:-5}
idle=${2:-60}
sc_require_number RUNS "$runs"
sc_require_number IDLE_SECONDS "$idle"
((idle >= 5)) || die "IDLE_SECONDS must be at least 5"

sandbox=$(mktemp -d /tmp/signalcartel-bench.XXXXXX)
port=$(sc_free_port 39101)
export SIGNALCARTEL_ENV_FILE="$sandbox/none.env" SIGNALCARTEL_PID_DIR="$sandbox/pids"
# BENCH_DATABASE_URL runs the services on another database (benchmarks/postgres.sh: PostgreSQL).
export SIGNALCARTEL_LOG_DIR="$sandbox/logs" DATABASE_URL="${BENCH_DATABASE_URL:-sqlite:$sandbox/bench.sqlite}"
kraken_port=$(sc_free_port $((port + 1)))
export WEBSITE_PORT=$port NO_COLOR=1 KRAKEN_API_URL="http://127.0.0.1:$kraken_port" KRAKEN_PUBLIC_RPS=10
MARKET_DATA_METRICS_PORT=$(sc_free_port $((kraken_port + 1)))
TRADING_METRICS_PORT=$(sc_free_port $((MARKET_DATA_METRICS_PORT + 1)))
export TRADING_PAIRS="BTC/USD" MARKET_DATA_METRICS_PORT TRADING_METRICS_PORT
scripts=$SC_ROOT/scripts
fake_pid=""
cleanup() {
    "$scripts/stop-server.sh" >/dev/null 2>&1 || true
    [[ -z $fake_pid ]] || kill "$fake_pid" 2>/dev/null || true
    rm -rf "$sandbox"
}
trap cleanup EXIT
sc_init

for svc in website trading-engine market-data; do sc_ensure_binary "$svc"; done
[[ -x $SC_ROOT/.build/release/fake-kraken ]] || sc_release_build fake-kraken ||
    die "build of fake-kraken failed"
"$SC_ROOT/.build/release/fake-kraken" "$kraken_port" >"$sandbox/fake-kraken.log" 2>&1 &
fake_pid=$!
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# Anonymous resident memory (heap, stacks): what grows when a service leaks.
anon_mb() { awk '/^RssAnon:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# Proportional set size: shared library pages divided among the processes that map them.
pss_mb() { awk '/^Pss:/ {printf "%.1f", $2 / 1024}' "/proc/$1/smaps_rollup"; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
echo "machine: $(uname -srm), $(nproc) cores, ${cpu:-unknown CPU}, $mem"
echo "binaries: $BIN_DIR"
echo

starts=() bare=()
for ((i = 1; i <= runs; i++)); do
    t0=$(now_ms)
    "$scripts/start-server-decoupled.sh" minimal >/dev/null || die "start failed; see $LOG_DIR"
    starts+=($(($(now_ms) - t0)))
    "$scripts/stop-server.sh" >/dev/null
    t0=$(now_ms)
    "$BIN_DIR/trading-engine" --version >/dev/null
    "$BIN_DIR/website" --version >/dev/null
    bare+=($(($(now_ms) - t0)))
done
start_ms=$(printf '%s\n' "${starts[@]}" | median)
bare_ms=$(printf '%s\n' "${bare[@]}" | median)
echo "start-up, minimal (trading-engine + website) to healthy, median of $runs:"
printf '  ours:     %s ms   (runs: %s)\n' "$start_ms" "${starts[*]}"
printf '  baseline: %s ms   bare exec of both binaries (--version)\n' "$bare_ms"
awk -v a="$start_ms" -v b="$bare_ms" 'BEGIN {printf "  ratio:    %.1fx baseline; goal <= 1500 ms: %s\n", a / b, (a <= 1500) ? "met" : "NOT met"}'
echo

"$scripts/start-server-decoupled.sh" standard >/dev/null || die "start failed; see $LOG_DIR"
sleep 5
declare -A early early_anon
for svc in website trading-engine market-data; do
    sc_pid_state "$svc"
    early[$svc]=$(rss_mb "$SC_PID")
    early_anon[$svc]=$(anon_mb "$SC_PID")
done
sleep $((idle - 5))
echo "resident memory of each idle service (standard mode), after 5 s -> after $idle s:"
printf '  %-15s %-22s %-22s %-9s %s\n' service "RSS (MB)" "anonymous (MB)" "PSS (MB)" "goal RSS <= 30 MB"
worst=0
for svc in website trading-engine market-data; do
    sc_pid_state "$svc"
    [[ $SC_STATE == running ]] || die "$svc died while idle; see $(sc_logfile "$svc")"
    late=$(rss_mb "$SC_PID")
    awk -v s="$svc" -v e="${early[$svc]}" -v l="$late" -v ea="${early_anon[$svc]}" -v la="$(anon_mb "$SC_PID")" \
        -v p="$(pss_mb "$SC_PID")" 'BEGIN {
        printf "  %-15s %5.1f -> %5.1f (%.2fx)  %5.1f -> %5.1f (%.2fx)  %-9.1f %s\n",
            s, e, l, l / e, ea, la, la / ea, p, (l <= 30) ? "met" : "NOT met"}'
    worst=$(awk -v w="$worst" -v l="$late" 'BEGIN {print (l > w) ? l : w}')
done
echo "  largest RSS: $worst MB (RSS counts every code page a process touched, shared or not;"
echo "  anonymous is the process's own heap and stacks; PSS shares library pages among processes)"
