#!/usr/bin/env bash
# Starts the market-data service in the background (PID file, log, health wait).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
sc_init
sc_start market-data
