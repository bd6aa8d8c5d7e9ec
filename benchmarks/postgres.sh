#!/usr/bin/env bash
# Benchmark: SignalCartel on PostgreSQL, on a throwaway cluster of its own (initdb in a temporary
# directory, a free port; stopped and removed at the end).
# Usage: benchmarks/postgres.sh [UPSERT_COUNT] [IMPORT_ROWS] [IDLE_SECONDS]   (100000 1000000 60)
#   1. candle upserts through our layer vs a bare PostgresNIO prepared-statement loop and COPY
#   2. the engine from a closed candle to the paper order stored, next to a bare one-row write
#   3. `trading-engine db import` of a SQLite database holding IMPORT_ROWS candles (rows/s)
#   4. each idle service's resident memory on PostgreSQL (benchmarks/startup-memory.sh)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

count=${1:-100000}
rows=${2:-1000000}
idle=${3:-60}
sc_require_number UPSERT_COUNT "$count"
sc_require_number IMPORT_ROWS "$rows"
sc_require_number IDLE_SECONDS "$idle"

work=$(mktemp -d /tmp/signalcartel-pgbench.XXXXXX)
cluster=/tmp/signalcartel-pgbench-cluster-$$
cleanup() {
    sc_pg_stop "$cluster"
    rm -rf "$work"
}
trap cleanup EXIT
sc_init

sc_release_build cartel-postgres-benchmark cartel-backtest-benchmark trading-engine website market-data fake-kraken ||
    die "release build failed"
release=$SC_ROOT/.build/release
server=$(sc_pg_start "$cluster")
# One database per part, so each starts empty.
database() { # NAME
    "$(sc_pg_bindir)/createdb" -h "$cluster" -p "$(cat "$cluster/port")" -U signalcartel "$1"
    printf '%s\n' "${server%/*}/$1"
}
echo "PostgreSQL: $("$(sc_pg_bindir)/postgres" --version)"

"$release/cartel-postgres-benchmark" "$(database upserts)" "$count"
echo

echo "db import of $rows candles (SQLite file -> PostgreSQL):"
"$release/cartel-backtest-benchmark" write-db "$work/import.sqlite" "$rows"
printf '  SQLite file: %s MB\n' "$(($(stat -c %s "$work/import.sqlite") / 1048576))"
target=$(database imported)
start=$(date +%s%N)
"$release/trading-engine" db import --from "sqlite:$work/import.sqlite" --to "$target" | sed 's/^/  /'
elapsed=$((($(date +%s%N) - start) / 1000000))
awk -v n="$rows" -v ms="$elapsed" 'BEGIN {printf "  whole command: %.1f s, %.0f candles/s\n", ms / 1000, n / (ms / 1000)}'
echo

BENCH_DATABASE_URL=$(database services) "$SC_ROOT/benchmarks/startup-memory.sh" 1 "$idle" | grep -v '^machine:'
