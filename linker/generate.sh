#!/usr/bin/env bash
# Regenerates linker/hot-functions.order: every function the three release services execute while
# starting, heartbeating, collecting from a local fake Kraken and answering their HTTP endpoints,
# recorded with valgrind's callgrind. The release link (Package.swift) places these functions
# next to each other, so an idle service maps a few hundred pages of code instead of touching
# code spread over the whole 30 MB text segment (about 7 MB less resident memory per service).
#
# Run it after changes that move a service's steady-state code paths; a stale list only costs
# memory (unknown names are ignored), never correctness. Then rebuild and run
# benchmarks/startup-memory.sh to see the effect.
# Usage: linker/generate.sh [SECONDS=100]   (each service runs that long under callgrind)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

seconds=${1:-100}
sc_require_number SECONDS "$seconds"
((seconds >= 40)) || die "SECONDS must be at least 40 (services start slowly under valgrind)"
sc_ensure_packages valgrind binutils curl
cd "$SC_ROOT"
sc_release_build website trading-engine market-data fake-kraken || die "release build failed"

sandbox=$(mktemp -d /tmp/signalcartel-order.XXXXXX)
pids=()
cleanup() {
    local pid
    # SIGINT makes callgrind write its profile; the fake Kraken stops on SIGTERM.
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    kill -TERM "${pids[0]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$sandbox"
}
trap cleanup EXIT

kraken_port=$(sc_free_port 39301)
website_port=$(sc_free_port $((kraken_port + 1)))
trading_metrics=$(sc_free_port $((website_port + 1)))
market_metrics=$(sc_free_port $((trading_metrics + 1)))
.build/release/fake-kraken "$kraken_port" >"$sandbox/fake-kraken.log" 2>&1 &
pids+=($!)

# Valgrind cannot read the DWARF 5 debug info Swift emits, so each service runs as a copy with
# the debug sections stripped; the symbol table (and so every function name) stays.
profile() { # SERVICE DATABASE
    local service=$1
    cp ".build/release/$service" "$sandbox/$service"
    strip --strip-debug "$sandbox/$service"
    env DATABASE_URL="sqlite:$sandbox/$2.sqlite" KRAKEN_API_URL="http://127.0.0.1:$kraken_port" \
        TRADING_PAIRS="BTC/USD,ETH/USD" TICKER_POLL_SECONDS=1 HEARTBEAT_SECONDS=1 KRAKEN_PUBLIC_RPS=10 \
        WEBSITE_PORT="$website_port" TRADING_METRICS_PORT="$trading_metrics" MARKET_DATA_METRICS_PORT="$market_metrics" \
        MARKET_DATA_MODE=embedded NO_COLOR=1 \
        valgrind --tool=callgrind --demangle=no --dump-instr=no --collect-jumps=no \
        --callgrind-out-file="$sandbox/$service.callgrind" "$sandbox/$service" >"$sandbox/$service.log" 2>&1 &
    pids+=($!)
}
log "profiling the services under callgrind for ${seconds} s..."
profile website website
profile market-data market
profile trading-engine trading

# Exercise every endpoint repeatedly while they run (errors included: 404s, a bad method).
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
    sleep 5
    for url in "http://127.0.0.1:$website_port/api/health" "http://127.0.0.1:$website_port/missing" \
        "http://127.0.0.1:$trading_metrics/metrics" "http://127.0.0.1:$trading_metrics/health" \
        "http://127.0.0.1:$market_metrics/metrics" "http://127.0.0.1:$market_metrics/health"; do
        curl -s -m 10 -o /dev/null "$url" || true
    done
    curl -s -m 10 -o /dev/null -X DELETE "http://127.0.0.1:$website_port/api/health" || true
done

for pid in "${pids[@]:1}"; do kill -INT "$pid" 2>/dev/null || true; done
for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done

executed=$sandbox/executed.txt
: >"$executed"
for service in website market-data trading-engine; do
    out=$sandbox/$service.callgrind
    [[ -s $out ]] || die "no callgrind output for $service (see $sandbox/$service.log)"
    grep -oE '^c?fn=\([0-9]+\) .*' "$out" | sed -E 's/^c?fn=\([0-9]+\) //' | sort -u >"$sandbox/$service.fns"
    nm --defined-only "$sandbox/$service" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$sandbox/$service.syms"
    comm -12 "$sandbox/$service.fns" "$sandbox/$service.syms" >>"$executed"
    log "$service: $(comm -12 "$sandbox/$service.fns" "$sandbox/$service.syms" | wc -l) functions executed"
done
sort -u "$executed" >"$SC_ROOT/linker/hot-functions.order"
ok "wrote linker/hot-functions.order ($(wc -l <"$SC_ROOT/linker/hot-functions.order") functions); rebuild the release binaries to use it"
