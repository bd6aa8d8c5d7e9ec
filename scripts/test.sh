#!/usr/bin/env bash
# Runs every check: shellcheck on the scripts, one debug build, then the Swift Testing suite
# (the script tests drive the debug binaries of that same build).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$SC_ROOT"

sc_ensure_packages "${SC_TEST_PACKAGES[@]}"
mapfile -t scripts < <(find scripts .ci benchmarks linker -type f \( -name '*.sh' -o -name run \) | sort)
shellcheck -x "${scripts[@]}"
ok "shellcheck: ${#scripts[@]} scripts clean"
# The deployment files, statically (Dockerfile, compose, Prometheus, systemd, Kubernetes).
"$SC_ROOT/scripts/check-deploy.sh"

swift build --build-tests
# The script tests start real services: keep them off a developer's running installation.
unset SIGNALCARTEL_BIN_DIR
# A throwaway PostgreSQL for the tests that need one (never a server already running).
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/signalcartel-pg.XXXXXX")
redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/signalcartel-redis.XXXXXX")
trap 'sc_pg_stop "$pg_dir"; sc_redis_stop "$redis_dir"' EXIT
SIGNALCARTEL_TEST_POSTGRES_URL=$(sc_pg_start "$pg_dir")
export SIGNALCARTEL_TEST_POSTGRES_URL
ok "PostgreSQL for the tests: $SIGNALCARTEL_TEST_POSTGRES_URL"
# And a throwaway Redis (tests that kill or configure one start their own).
SIGNALCARTEL_TEST_REDIS_URL=$(sc_redis_start "$redis_dir")
export SIGNALCARTEL_TEST_REDIS_URL
ok "Redis for the tests: $SIGNALCARTEL_TEST_REDIS_URL"
# The suites that run whole stacks of service processes (the Redis services, the monitoring stack)
# run after the rest, not beside it: every test runs, but a 2-core machine is not asked to start
# them all at the same moment. Arguments (e.g. --filter) run one pass as given.
heavy='RedisServicesTests|MonitoringTests'
if (($# > 0)); then
    swift test --skip-build "$@"
else
    swift test --skip-build --skip "$heavy"
    swift test --skip-build --filter "$heavy"
fi
