#!/usr/bin/env bash
# Starts a set of SignalCartel services, each on its own with its own PID file and log.
# Usage: start-server-decoupled.sh [minimal|standard|full] [--yes]
#   minimal   trading-engine (collecting market data in-process) + website   (default)
#   standard  market-data, then trading-engine reading its data, then website
#   full      every service the package has; asks for confirmation unless --yes
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

mode=minimal
yes=false
for arg in "$@"; do
    case $arg in
    minimal | standard | full) mode=$arg ;;
    --yes | -y) yes=true ;;
    -h | --help)
        sed -n '2,7s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *) die "unknown argument '$arg' (expected minimal, standard, full or --yes)" ;;
    esac
done
sc_init

case $mode in
minimal)
    export MARKET_DATA_MODE=embedded
    services=(trading-engine website)
    ;;
standard | full)
    export MARKET_DATA_MODE=external
    services=(market-data trading-engine website)
    ;;
esac

if [[ $mode == full ]] && ! $yes; then
    [[ -t 0 ]] || die "full mode asks for confirmation: run it in a terminal or pass --yes"
    read -r -p "Start every service (${services[*]})? [y/N] " answer
    [[ $answer =~ ^[Yy] ]] || die "cancelled"
fi

log "starting SignalCartel ($mode): ${services[*]}"
failed=()
for svc in "${services[@]}"; do
    sc_start "$svc" || failed+=("$svc")
done

log ""
log "logs:    $LOG_DIR/{$(IFS=,; echo "${services[*]}")}.log"
log "status:  $SC_ROOT/scripts/services/status.sh"
log "stop:    $SC_ROOT/scripts/stop-server.sh"
if ((${#failed[@]} > 0)); then
    die "failed to start: ${failed[*]} (the others keep running)"
fi
ok "all $mode services are healthy; website on $(sc_website_url)"
