#!/usr/bin/env bash
# Reports every service: state, PID, uptime, resident memory, port, health, last log line.
# A service with no PID file here whose heartbeat is live and comes from another host is "remote".
# Usage: status.sh [--json]
# Exit: 0 every service with a PID file is running, 1 a PID file is stale, 3 none is running.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

json=false
case ${1:-} in
--json) json=true ;;
"") ;;
-h | --help)
    sed -n '2,5s/^# //p' "$0"
    exit 0
    ;;
*) die "unknown option '$1' (expected --json)" ;;
esac
sc_init

# "heartbeat STATE (age=…)" from a `status` line, with " on HOST" when the heartbeat comes from
# another machine (the services share a PostgreSQL database; its PID file is there, not here).
heartbeat_summary() { # STATUS-LINE
    [[ -n $1 ]] || return 0
    awk -v here="$(hostname)" '{
        sub(":", "", $2); out = "heartbeat " $2
        if (NF >= 4 && $4 ~ /^age=/) out = out " (" $4 ")"
        for (i = 5; i <= NF; i++) if ($i ~ /^host=/ && substr($i, 6) != here) out = out " on " substr($i, 6)
        print out
    }' <<<"$1"
}

health_of() { # SERVICE STATE
    local code body
    if [[ $1 == website ]]; then
        [[ $2 == running ]] || { printf '%s\n' "-"; return; }
        body=$(curl -s --max-time 2 -w '\n%{http_code}' "$(sc_website_url)/api/health" || true)
        code=${body##*$'\n'}
        if [[ $code == 200 ]]; then printf 'ok (HTTP 200)\n'
        elif [[ $code == 000 || -z $code ]]; then printf 'no answer\n'
        else printf 'degraded (HTTP %s)\n' "$code"; fi
    elif [[ -x $(sc_bin "$1") ]]; then
        heartbeat_summary "$("$(sc_bin "$1")" status 2>/dev/null | head -n 1 || true)"
    else
        printf '%s\n' "-"
    fi
}

rows=()
running=0
stale=0
for svc in "${SC_SERVICES[@]}"; do
    sc_pid_state "$svc"
    pid=- uptime=- rss=- port=- last=""
    case $SC_STATE in
    running)
        state=running
        running=$((running + 1))
        pid=$SC_PID
        uptime=$(ps -o etimes= -p "$pid" | tr -d ' ')s
        rss=$(($(ps -o rss= -p "$pid" | tr -d ' ') / 1024))MB
        ;;
    none) state=stopped ;;
    *)
        state="stale PID"
        stale=$((stale + 1))
        pid=${SC_PID:--}
        ;;
    esac
    port=$(sc_service_port "$svc")
    [[ -n $port ]] || port=-
    health=$(health_of "$svc" "$state")
    # No PID file here, but a live heartbeat from another machine: it runs there.
    if [[ $state == stopped && $health == "heartbeat running"*" on "* ]]; then state=remote; fi
    logfile=$(sc_logfile "$svc")
    [[ -f $logfile ]] && last=$(tail -n 1 "$logfile")
    rows+=("$svc|$state|$pid|$uptime|$rss|$port|$health|$last")
done

if $json; then
    printf '['
    sep=""
    for row in "${rows[@]}"; do
        IFS='|' read -r svc state pid uptime rss port health last <<<"$row"
        num() { [[ $1 == - ]] && printf 'null' || printf '%s' "${1%[sM]*}"; }
        printf '%s{"service":%s,"state":%s,"pid":%s,"uptimeSeconds":%s,"rssMB":%s,"port":%s,"health":%s,"lastLogLine":%s}' \
            "$sep" "$(sc_json_string "$svc")" "$(sc_json_string "$state")" "$(num "$pid")" \
            "$(num "$uptime")" "$(num "$rss")" "$(num "$port")" "$(sc_json_string "$health")" \
            "$(sc_json_string "$last")"
        sep=","
    done
    printf ']\n'
else
    printf '%-15s %-10s %-8s %-9s %-7s %-6s %-24s %s\n' SERVICE STATE PID UPTIME MEMORY PORT HEALTH "LAST LOG LINE"
    for row in "${rows[@]}"; do
        IFS='|' read -r svc state pid uptime rss port health last <<<"$row"
        printf '%-15s %-10s %-8s %-9s %-7s %-6s %-24s %s\n' "$svc" "$state" "$pid" "$uptime" "$rss" \
            "$port" "$health" "${last:0:100}"
    done
fi

if ((stale > 0)); then exit 1; fi
if ((running == 0)); then exit 3; fi
exit 0
