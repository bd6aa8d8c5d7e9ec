#!/usr/bin/env bash
# Standard mode, from a candle's close on the exchange to its order stored, with market-data and
# trading-engine as separate processes on one SQLite file, both polling a local fake Kraken
# every second. The fake's 1-minute candles zigzag, so a 2/3 SMA cross on BTC/USD and on ETH/BTC
# trades every candle of both pairs. Per candle it measures, in the same run:
#   collector   close -> the candle stored final (a later one exists), seen by polling the
#               database every 50 ms: the floor the engine cannot beat (it includes the
#               collector asking Kraken 2 s after each close);
#   end to end  close -> the engine's "order filled" log line (order, fill, trade and position
#               stored in one transaction);
# and prints medians and 99th percentiles, the engine's own share and the ratio to the floor.
# Usage: benchmarks/standard-latency.sh [MINUTES=30]   (release binaries; built when missing)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

minutes=${1:-30}
sc_require_number MINUTES "$minutes"
((minutes >= 2)) || die "MINUTES must be at least 2"
cd "$SC_ROOT"
sc_ensure_packages sqlite3 curl
for product in market-data trading-engine fake-kraken; do
    [[ -x .build/release/$product ]] || sc_release_build "$product" || die "build of $product failed"
done

sandbox=$(mktemp -d /tmp/signalcartel-latency.XXXXXX)
kraken_port=$(sc_free_port 39301)
market_port=$(sc_free_port $((kraken_port + 1)))
engine_port=$(sc_free_port $((market_port + 1)))
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$sandbox"
}
trap cleanup EXIT

database="$sandbox/latency.sqlite"
common=(DATABASE_URL="sqlite:$database" KRAKEN_API_URL="http://127.0.0.1:$kraken_port" KRAKEN_PUBLIC_RPS=10
    TRADING_PAIRS="BTC/USD,ETH/BTC" CANDLE_INTERVALS=1 TICKER_POLL_SECONDS=1 HEARTBEAT_SECONDS=5)
.build/release/fake-kraken "$kraken_port" >"$sandbox/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do sc_port_busy "$kraken_port" && break; sleep 0.1; done
env "${common[@]}" MARKET_DATA_METRICS_PORT="$market_port" .build/release/market-data >"$sandbox/market-data.log" 2>&1 &
pids+=($!)
env "${common[@]}" MARKET_DATA_MODE=external TRADING_METRICS_PORT="$engine_port" \
    STRATEGIES="sma-cross:BTC/USD:1:fast=2,slow=3;sma-cross:ETH/BTC:1:fast=2,slow=3" \
    STOP_LOSS_PERCENT=0 TAKE_PROFIT_PERCENT=0 MAX_OPEN_POSITIONS=5 STAKE_PERCENT=5 \
    .build/release/trading-engine >"$sandbox/trading-engine.log" 2>&1 &
pids+=($!)
engine_pid=$!

echo "machine: $(uname -srm), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "market-data and trading-engine (external mode, separate processes) on the fake Kraken, 1-second polls, $minutes min"
# Candles that close from now on count (the first minute warms everything up).
counted_from=$(($(date +%s) / 60 * 60 + 60))
deadline=$((SECONDS + minutes * 60))
declare -A newest=()
: >"$sandbox/final.tsv"
while ((SECONDS < deadline)); do
    sc_alive "$engine_pid" || { tail -n 20 "$sandbox/trading-engine.log"; die "trading-engine died"; }
    now=$EPOCHREALTIME
    while read -r pair open; do
        [[ -n $pair && -n $open ]] || continue
        if [[ ${newest[$pair]:-} != "$open" ]]; then
            newest[$pair]=$open
            printf '%s\t%s\t%s\n' "$pair" "$open" "$now" >>"$sandbox/final.tsv"
        fi
    done < <(sqlite3 -separator ' ' "file:$database?mode=ro" \
        "SELECT pair, MAX(CAST(strftime('%s', open_time) AS INTEGER)) FROM candles WHERE closed = 1 AND interval_minutes = 1 GROUP BY pair" 2>/dev/null || true)
    sleep 0.05
done

# Order ids name strategy, candle open time and side: sc-<id>-<open>-<buy|sell>; strategies 1
# and 2 are BTC/USD and ETH/BTC, in the order STRATEGIES seeded them.
: >"$sandbox/orders.tsv"
grep 'order filled' "$sandbox/trading-engine.log" | while read -r stamp rest; do
    id=$(grep -o 'order=sc-[0-9]*-[0-9]*-' <<<"$rest" || true)
    [[ -n $id ]] || continue
    strategy=$(cut -d- -f2 <<<"$id")
    pair=$([[ $strategy == 1 ]] && echo BTC/USD || echo ETH/BTC)
    printf '%s\t%s\t%s\n' "$pair" "$(cut -d- -f3 <<<"$id")" "$(date -d "$stamp" +%s.%N)" >>"$sandbox/orders.tsv"
done

awk -v from="$counted_from" -F'\t' '
    function pct(values, n, p,    i, j, t) {
        for (i = 2; i <= n; i++) { t = values[i]; for (j = i - 1; j >= 1 && values[j] > t; j--) values[j + 1] = values[j]; values[j + 1] = t }
        i = int(n * p) + 1; if (i > n) i = n
        return values[i]
    }
    FNR == NR { if ($2 + 60 >= from) { seen[$1 "|" $2] = $3; floor[++f] = $3 - ($2 + 60) } next }
    $2 + 60 >= from {
        e2e[++n] = $3 - ($2 + 60)
        if (($1 "|" $2) in seen) share[++m] = $3 - seen[$1 "|" $2]
    }
    END {
        if (n == 0) { print "no orders measured"; exit 1 }
        p50 = pct(e2e, n, 0.5); p99 = pct(e2e, n, 0.99); f50 = pct(floor, f, 0.5); f99 = pct(floor, f, 0.99)
        printf "collector  close -> candle stored final: %d candles, p50 %.3f s, p99 %.3f s\n", f, f50, f99
        printf "end to end close -> order stored:        %d orders,  p50 %.3f s, p99 %.3f s\n", n, p50, p99
        if (m > 0) printf "engine     candle final -> order stored:  p50 %.3f s, p99 %.3f s\n", pct(share, m, 0.5), pct(share, m, 0.99)
        printf "ratio end to end / collector: p50 %.2fx, p99 %.2fx; goal p99 <= 3 s: %s\n", p50 / f50, p99 / f99, (p99 <= 3) ? "met" : "NOT met"
    }' "$sandbox/final.tsv" "$sandbox/orders.tsv"
