#!/usr/bin/env bash
# Soak: market-data polling a local fake Kraken every second, its resident memory sampled once a
# minute. The baseline is the service's own memory after the first minute; the figure that
# matters is growth (a leak shows as a steady climb).
# Usage: benchmarks/soak-market-data.sh [MINUTES=60]   (release binaries; built when missing)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

minutes=${1:-60}
sc_require_number MINUTES "$minutes"
((minutes >= 2)) || die "MINUTES must be at least 2"
cd "$SC_ROOT"
for product in market-data fake-kraken; do
    [[ -x .build/release/$product ]] || sc_release_build "$product" || die "build of $product failed"
done

sandbox=$(mktemp -d /tmp/signalcartel-soak.XXXXXX)
kraken_port=$(sc_free_port 39201)
metrics_port=$(sc_free_port $((kraken_port + 1)))
fake_pid="" service_pid=""
cleanup() {
    [[ -z $service_pid ]] || kill "$service_pid" 2>/dev/null || true
    [[ -z $fake_pid ]] || kill "$fake_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$sandbox"
}
trap cleanup EXIT

.build/release/fake-kraken "$kraken_port" >"$sandbox/fake.log" 2>&1 &
fake_pid=$!
DATABASE_URL="sqlite:$sandbox/soak.sqlite" KRAKEN_API_URL="http://127.0.0.1:$kraken_port" KRAKEN_PUBLIC_RPS=10 \
    TRADING_PAIRS="BTC/USD,ETH/BTC" CANDLE_INTERVALS="1,15,60" TICKER_POLL_SECONDS=1 \
    MARKET_DATA_METRICS_PORT="$metrics_port" .build/release/market-data >"$sandbox/market-data.log" 2>&1 &
service_pid=$!

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
echo "machine: $(uname -srm), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "market-data PID $service_pid polling the fake Kraken on port $kraken_port every second for $minutes min"
samples=()
for ((m = 1; m <= minutes; m++)); do
    sleep 60
    sc_alive "$service_pid" || { tail -n 20 "$sandbox/market-data.log"; die "market-data died after $m min"; }
    samples+=("$(rss_kb "$service_pid")")
    printf '  minute %3d: RSS %6.1f MB, anonymous %5.1f MB\n' "$m" \
        "$(awk -v k="${samples[-1]}" 'BEGIN {print k / 1024}')" "$(awk -v k="$(anon_kb "$service_pid")" 'BEGIN {print k / 1024}')"
done
tickers=$(sqlite3 "$sandbox/soak.sqlite" "SELECT COUNT(*) FROM tickers" 2>/dev/null || echo "?")
requests=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '/^kraken_requests_total/ {n += $2} END {print n + 0}')
printf '%s\n' "${samples[@]}" | awk -v t="$tickers" -v r="$requests" '
    NR == 1 {first = $1} {last = $1; if ($1 > max) max = $1}
    END {
        printf "first minute %.1f MB, last %.1f MB, max %.1f MB; growth %.3fx of the first minute\n", first / 1024, last / 1024, max / 1024, last / first
        printf "kraken requests served: %s, ticker rows stored: %s; goal <= 30 MB: %s\n", r, t, (max / 1024 <= 30) ? "met" : "NOT met"
    }'
