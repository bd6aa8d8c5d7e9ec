#!/usr/bin/env bash
# Redis, measured in one run on a throwaway redis-server (free loopback port, no persistence):
#   1. standard mode, market-data and trading-engine as separate processes on one SQLite file,
#      both pointed at a local fake Kraken (1-second ticker polls): `market-data --replay` feeds
#      CANDLES zigzag 1-minute candles at SPEED per second (each closes after the engine started,
#      so each is traded; a 2/3 SMA cross fires about every 4th). Per order, from the candle's
#      commit (candles.updated_at) to the engine's order row stored (its `order` journal entry;
#      both stored to the millisecond): p50/p99/max, once with polling only (REDIS_URL unset: the engine
#      reads storage every 500 ms) and once with Redis (candle.closed messages; the engine's
#      catch-up poll at 2 s). Goal with Redis: p99 <= 20 ms.
#   2. PUBLISH rate through our client vs redis-benchmark on the same server, with the same
#      shape (CLIENTS connections, one request in flight each; redis-benchmark 7.0 has no
#      `-t publish` test, so it is given the PUBLISH command). Goal: >= 50%.
# Usage: benchmarks/redis.sh [CANDLES=1000] [SPEED=20] [PUBLISHES=200000] [CLIENTS=50]
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

candles=${1:-1000}
speed=${2:-20}
publishes=${3:-200000}
clients=${4:-50}
sc_require_number CANDLES "$candles"
sc_require_number SPEED "$speed"
sc_require_number PUBLISHES "$publishes"
sc_require_number CLIENTS "$clients"
cd "$SC_ROOT"
sc_ensure_packages sqlite3 redis-server redis-tools
sc_release_build market-data trading-engine fake-kraken cartel-redis-benchmark || die "release build failed"
release=$SC_ROOT/.build/release

sandbox=$(mktemp -d /tmp/signalcartel-redisbench.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    sc_redis_stop "$sandbox/redis"
    rm -rf "$sandbox"
}
trap cleanup EXIT
redis_url=$(sc_redis_start "$sandbox/redis")
kraken_port=$(sc_free_port 39401)
"$release/fake-kraken" "$kraken_port" >"$sandbox/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do sc_port_busy "$kraken_port" && break; sleep 0.1; done

echo "machine: $(uname -srm), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "redis: $(redis-server --version | awk '{print $3}'), $redis_url"
echo

# One run: prints "p50 p99 max count" (ms) from candle committed to order stored. (The paper
# fill's rows carry the candle's time, not the wall clock, so the fill is not timed here.)
latency_run() { # NAME REDIS_URL_OR_EMPTY
    local name=$1 url=$2 dir=$sandbox/$1 engine_port market_port engine
    mkdir -p "$dir"
    engine_port=$(sc_free_port 39501)
    market_port=$(sc_free_port $((engine_port + 1)))
    local common=(DATABASE_URL="sqlite:$dir/db.sqlite" KRAKEN_API_URL="http://127.0.0.1:$kraken_port" KRAKEN_PUBLIC_RPS=10
        TRADING_PAIRS=BENCH/USD CANDLE_INTERVALS=1 TICKER_POLL_SECONDS=1 HEARTBEAT_SECONDS=5 SIGNALCARTEL_LOG_DIR="$dir"
        REDIS_URL="$url")
    env "${common[@]}" MARKET_DATA_MODE=external TRADING_METRICS_PORT="$engine_port" STRATEGIES="sma-cross:BENCH/USD:1:fast=2,slow=3" \
        STOP_LOSS_PERCENT=0 TAKE_PROFIT_PERCENT=0 "$release/trading-engine" >"$dir/engine.log" 2>&1 &
    engine=$!
    pids+=("$engine")
    local _
    for _ in $(seq 200); do
        grep -q 'strategy running' "$dir/engine.log" 2>/dev/null &&
            { [[ -z $url ]] || grep -q 'connection=subscriber' "$dir/engine.log"; } && break
        sleep 0.1
    done
    grep -q 'strategy running' "$dir/engine.log" || { tail -n 20 "$dir/engine.log"; die "$name: trading-engine did not start"; }
    "$release/cartel-redis-benchmark" zigzag-csv "$dir/candles.csv" "$candles"
    env "${common[@]}" MARKET_DATA_METRICS_PORT="$market_port" "$release/market-data" --replay "$dir/candles.csv" --speed "$speed" \
        --pair BENCH/USD --interval 1 >"$dir/market-data.log" 2>&1 || { tail -n 20 "$dir/market-data.log"; die "$name: replay failed"; }
    sleep 2
    kill "$engine"
    wait "$engine" 2>/dev/null || true
    sqlite3 -separator ' ' "$dir/db.sqlite" "
        SELECT (julianday(e.created_at) - julianday(c.updated_at)) * 86400000.0
        FROM orders o
        JOIN events e ON e.kind = 'order' AND json_extract(e.payload, '\$.id') = o.id AND json_extract(e.payload, '\$.status') = 'submitting'
        JOIN candles c ON c.pair = o.pair AND c.interval_minutes = 1
            AND CAST(strftime('%s', c.open_time) AS INTEGER) = CAST(substr(o.client_order_id, 6, 10) AS INTEGER)
        ORDER BY 1" |
        awk '{ v[++n] = $1 } END {
            if (n == 0) { print "0 0 0 0"; exit }
            i50 = int(n * 0.5) + 1; if (i50 > n) i50 = n
            i99 = int(n * 0.99) + 1; if (i99 > n) i99 = n
            printf "%.0f %.0f %.0f %d\n", v[i50], v[i99], v[n], n }'
}

echo "candle committed -> order stored, $candles replayed candles at $speed/s (market-data and trading-engine, separate processes):"
read -r poll_p50 poll_p99 poll_max poll_n < <(latency_run polling "")
read -r redis_p50 redis_p99 redis_max redis_n < <(latency_run redis "$redis_url")
printf '  polling only (500 ms): %s orders, p50 %s ms, p99 %s ms, max %s ms\n' "$poll_n" "$poll_p50" "$poll_p99" "$poll_max"
printf '  with Redis:            %s orders, p50 %s ms, p99 %s ms, max %s ms\n' "$redis_n" "$redis_p50" "$redis_p99" "$redis_max"
awk -v r="$redis_p99" -v p="$poll_p99" -v r50="$redis_p50" -v p50="$poll_p50" 'BEGIN {
    if (r50 < 1) r50 = 1; if (r < 1) r = 1
    printf "  ratio polling / Redis: p50 %.0fx, p99 %.0fx; goal p99 <= 20 ms with Redis: %s\n", p50 / r50, p / r, (r <= 20) ? "met" : "NOT met" }'
echo

echo "PUBLISH, $publishes messages, $clients clients:"
ours=$("$release/cartel-redis-benchmark" publish "$redis_url" "$publishes" "$clients")
grep -v '^RATE' <<<"$ours" | sed 's/^/  /'
port=${redis_url##*:}
port=${port%%/*}
theirs=$(redis-benchmark -p "$port" -n "$publishes" -c "$clients" -q publish signalcartel:bench xxx 2>&1 | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -n 1 | awk '{print $1}')
printf '  redis-benchmark, %s connections (publish signalcartel:bench xxx): %.0f requests/s\n' "$clients" "$theirs"
awk -v o="$(grep '^RATE' <<<"$ours" | awk '{print $2}')" -v t="$theirs" 'BEGIN {
    printf "  ratio ours / redis-benchmark (same shape): %.2f; goal >= 0.50: %s\n", o / t, (o / t >= 0.5) ? "met" : "NOT met" }'
