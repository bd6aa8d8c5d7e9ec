#!/usr/bin/env bash
# The website under load, against nginx serving the same bytes as static files, in one run:
#   1. wrk on /api/health and on /api/candles?pair=BTC/USD&interval=1&limit=500, website and
#      nginx (Debian nginx-light) side by side: requests/s, p99 and the website/nginx ratio;
#   2. the website's resident memory idle, and at its highest under that load with 64
#      /api/events clients connected;
#   3. the overview page's server time (one connection, p50/p99) with the seeded trades stored.
# The database is seeded by the real paper engine (cartel-dashboard-seed): about 10,000 trades.
# Usage: benchmarks/website-load.sh [SECONDS_PER_RUN=10] [CYCLES=6700]   (release builds)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

duration=${1:-10}
cycles=${2:-6700}
sc_require_number SECONDS_PER_RUN "$duration"
sc_require_number CYCLES "$cycles"
cd "$SC_ROOT"
sc_ensure_packages wrk nginx-light curl
# Always (re)build: an up-to-date build takes seconds, and a stale seeder would create an older schema.
sc_release_build website cartel-dashboard-seed || die "release build failed"

sandbox=$(mktemp -d /tmp/signalcartel-website-load.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -f $sandbox/nginx.pid ]] && kill "$(cat "$sandbox/nginx.pid")" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$sandbox"
}
trap cleanup EXIT

echo "machine: $(uname -srm), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
seed_started=$SECONDS
.build/release/cartel-dashboard-seed "$sandbox/db.sqlite" "$cycles"
echo "seeding took $((SECONDS - seed_started)) s"

website_port=$(sc_free_port 39401)
nginx_port=$(sc_free_port $((website_port + 1)))
env DATABASE_URL="sqlite:$sandbox/db.sqlite" WEBSITE_PORT="$website_port" SIGNALCARTEL_LOG_DIR="$sandbox" LOG_LEVEL=warning \
    .build/release/website >"$sandbox/website.log" 2>&1 &
pids+=($!)
website_pid=$!
for _ in $(seq 100); do sc_port_busy "$website_port" && break; sleep 0.1; done
sleep 3
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
idle=$(rss_mb "$website_pid")

candles="/api/candles?pair=BTC/USD&interval=1&limit=500"
# nginx's workers run as an unprivileged user: the sandbox (mode 700 from mktemp) must let
# them through to the files, or every nginx answer is an error page and the baseline is void.
chmod 711 "$sandbox"
mkdir -p "$sandbox/www/api"
curl -fs "http://127.0.0.1:$website_port/api/health" >"$sandbox/www/api/health"
curl -fs "http://127.0.0.1:$website_port$candles" >"$sandbox/www/api/candles"
chmod -R a+rX "$sandbox/www"
cat >"$sandbox/nginx.conf" <<EOF
daemon on;
worker_processes auto;
pid $sandbox/nginx.pid;
error_log $sandbox/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $sandbox/tmp;
    server {
        listen 127.0.0.1:$nginx_port;
        root $sandbox/www;
        default_type application/json;
        location = /api/candles { try_files /api/candles =404; }
    }
}
EOF
mkdir -p "$sandbox/tmp"
nginx -c "$sandbox/nginx.conf" -p "$sandbox" -e "$sandbox/nginx-error.log"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$nginx_port/api/health" >/dev/null && break; sleep 0.1; done
# Both servers must give the same bytes, and succeed, before anything is measured.
for name in health candles; do
    curl -fs "http://127.0.0.1:$nginx_port/api/$name" >"$sandbox/nginx-$name" || die "nginx does not serve /api/$name (see $sandbox/nginx-error.log)"
    cmp -s "$sandbox/nginx-$name" "$sandbox/www/api/$name" || die "nginx's /api/$name differs from the website's"
done
printf 'website and nginx both serve %s bytes for health, %s for candles (compared byte for byte)\n' \
    "$(wc -c <"$sandbox/www/api/health")" "$(wc -c <"$sandbox/www/api/candles")"

# wrk URL CONNECTIONS -> "requests_per_second p99_ms"
measure() {
    local out rps p99 threads=2
    (($2 < 2)) && threads=1
    out=$(wrk -t"$threads" -c"$2" -d"${duration}s" --latency "$1")
    # A run with failed answers measures the failures: refuse it rather than print it.
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "wrk saw errors from $1"
    fi
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.2f", v}' <<<"$out")
    printf '%s %s\n' "$rps" "$p99"
}

sleep 2
echo "website idle resident memory: $idle MB before any request (goal <= 30), $(rss_mb "$website_pid") MB after its first requests"

# 64 live event streams stay open during the load.
for _ in $(seq 64); do
    curl -sN "http://127.0.0.1:$website_port/api/events" >/dev/null 2>&1 &
    pids+=($!)
done
sleep 1
streams=$(curl -fs "http://127.0.0.1:$website_port/metrics" | awk '/^website_sse_clients / {print $2}')
echo "event streams connected: ${streams:-?}"
peak_file="$sandbox/peak"
echo 0 >"$peak_file"
(
    while kill -0 "$website_pid" 2>/dev/null; do
        now=$(rss_mb "$website_pid")
        awk -v a="$now" -v b="$(cat "$peak_file")" 'BEGIN {exit !(a > b)}' && echo "$now" >"$peak_file"
        sleep 0.2
    done
) &
pids+=($!)

printf '\n%-8s %-10s %14s %10s %14s %10s %8s\n' endpoint conns website_rps p99_ms nginx_rps p99_ms ratio
for name in health candles; do
    path=/api/health
    [[ $name == candles ]] && path=$candles
    website=$(measure "http://127.0.0.1:$website_port$path" 64)
    nginx=$(measure "http://127.0.0.1:$nginx_port/api/$name" 64)
    read -r w_rps w_p99 <<<"$website"
    read -r n_rps n_p99 <<<"$nginx"
    ratio=$(awk -v a="$w_rps" -v b="$n_rps" 'BEGIN {printf "%.2f", a / b}')
    printf '%-8s %-10s %14s %10s %14s %10s %8s\n' "$name" 64 "$w_rps" "$w_p99" "$n_rps" "$n_p99" "$ratio"
done
echo "website peak resident memory under load with 64 event streams: $(cat "$peak_file") MB (goal <= 60)"

trades=$(curl -fs "http://127.0.0.1:$website_port/api/performance" | sed -n 's/.*"total":{[^}]*"trades":\([0-9]*\).*/\1/p')
curl -fs "http://127.0.0.1:$website_port/" >/dev/null  # the first view computes the cached figures
overview=$(measure "http://127.0.0.1:$website_port/" 1)
read -r o_rps o_p99 <<<"$overview"
o_p50=$(wrk -t1 -c1 -d"${duration}s" --latency "http://127.0.0.1:$website_port/" | awk '$1 == "50%" {print $2}')
echo "overview page with ${trades:-?} trades stored, one connection: ${o_rps} pages/s, p50 ${o_p50}, p99 ${o_p99} ms (goal p99 <= 20 ms)"
