#!/usr/bin/env bash
# Alerts, measured in one run (release build of cartel-alert-benchmark):
#   1. event -> message delivered to a fake Telegram Bot API on loopback, over ALERTS pause
#      changes stored 1.1 s apart (each alert written by the trigger with its change), sent by
#      the production sender (1 message per second per chat): p50/p99/max, and a burst of 20;
#   2. the paper engine's candle -> order latency with alerts off and on (sender, service watch
#      and daily summary running on the same SQLite file), alternating rounds: p50/p99, ratio.
# Usage: benchmarks/alert-latency.sh [ALERTS=200]   (about 1.1 s per alert, plus a minute)
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

alerts=${1:-200}
sc_require_number ALERTS "$alerts"
cd "$SC_ROOT"
sc_release_build cartel-alert-benchmark || die "release build failed"
.build/release/cartel-alert-benchmark "$alerts"
