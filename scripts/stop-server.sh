#!/usr/bin/env bash
# Stops every SignalCartel service that has a PID file, website first.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sc_init

status=0
for svc in website trading-engine market-data; do
    sc_stop "$svc" || status=1
done
exit "$status"
