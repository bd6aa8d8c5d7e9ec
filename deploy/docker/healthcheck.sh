#!/bin/sh
# The container's health: asks the service running as PID 1 on its own port (website:
# /api/health; trading-engine and market-data: their metrics port's /health).
set -eu
service=$(cat /proc/1/comm)
case $service in
website) url="http://127.0.0.1:${WEBSITE_PORT:-3001}/api/health" ;;
trading-engine) url="http://127.0.0.1:${TRADING_METRICS_PORT:-9091}/health" ;;
market-data) url="http://127.0.0.1:${MARKET_DATA_METRICS_PORT:-9092}/health" ;;
*) echo "unknown service: $service" >&2; exit 1 ;;
esac
exec curl -fsS -o /dev/null --max-time 4 "$url"
