#!/usr/bin/env bash
# The backtest commands end to end, as a user runs them (release build), side by side in one run:
#   - the physical floor: `cat FILE > /dev/null` and `wc -l FILE` on the same CSV;
#   - `trading-engine backtest --csv` (rsi, text report and --json), `indicators --csv` with
#     3 indicators writing its CSV, and `backtest --pair --interval` from a SQLite database of
#     the same candles (plus the database read alone);
#   - `trading-engine optimize` on the same file with --jobs 1 and --jobs <cores>;
#   - backtesting.py running the same RSI rules over the same file, when
#     `python3 -c 'import backtesting'` works (set PYTHON=/path/to/python3 to pick a venv).
# Each figure is the best of RUNS runs. The input is a seeded random walk written by
# cartel-backtest-benchmark (1-minute candles, ISO 8601 times, prices in cents).
# Usage: benchmarks/backtest-command.sh [ROWS=1000000] [RUNS=3]
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

rows=${1:-1000000}
runs=${2:-3}
sc_require_number ROWS "$rows"
sc_require_number RUNS "$runs"
python=${PYTHON:-python3}
cd "$SC_ROOT"
sc_release_build trading-engine cartel-backtest-benchmark || die "release build failed"
engine=$SC_ROOT/.build/release/trading-engine
bench=$SC_ROOT/.build/release/cartel-backtest-benchmark

work=$(mktemp -d "${TMPDIR:-/tmp}/cartel-backtest-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
csv=$work/candles.csv
"$bench" write-csv "$csv" "$rows"
"$bench" write-db "$work/candles.sqlite" "$rows"
cores=$(nproc)

printf 'machine: %s, %s cores, %s\n' "$(uname -srm)" "$cores" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
printf 'input: %s rows, %s bytes (%s)\n' "$rows" "$(stat -c %s "$csv")" "$csv"

# Prints the best wall time of RUNS runs of the command, in seconds (stdout to /dev/null).
best_seconds() {
    local best="" start end elapsed i
    for ((i = 0; i < runs; i++)); do
        start=$(date +%s%N)
        "$@" > /dev/null
        end=$(date +%s%N)
        elapsed=$((end - start))
        if [[ -z $best || $elapsed -lt $best ]]; then best=$elapsed; fi
    done
    awk -v ns="$best" 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}

# report LABEL SECONDS: the time and the rate over the file's rows.
report() {
    awk -v label="$1" -v s="$2" -v rows="$rows" \
        'BEGIN { printf "%-44s %8.3f s  %7.2f M rows/s\n", label, s, rows / s / 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat_s=$(best_seconds cat "$csv")
wc_s=$(best_seconds wc -l "$csv")
report "floor: cat FILE > /dev/null" "$cat_s"
report "floor: wc -l FILE" "$wc_s"
"$bench" read-csv "$csv"

text_s=$(best_seconds "$engine" backtest --csv "$csv" --strategy rsi)
json_s=$(best_seconds "$engine" backtest --csv "$csv" --strategy rsi --json)
ind_s=$(best_seconds "$engine" indicators --csv "$csv" --indicator rsi:14 --indicator sma:20 --indicator ema:50)
db_s=$(best_seconds env DATABASE_URL="sqlite:$work/candles.sqlite" "$engine" backtest --pair BENCH/USD --interval 1 --strategy rsi)
report "backtest --csv (rsi, text report)" "$text_s"
report "backtest --csv (rsi, --json)" "$json_s"
report "indicators --csv (rsi:14 sma:20 ema:50)" "$ind_s"
report "backtest --pair --interval (SQLite)" "$db_s"
# The database goal is the read itself (the command adds the process, the schema check and the
# backtest around it).
"$bench" read-db "$work/candles.sqlite"

goal() { # LABEL SECONDS: met when the rate is at least 2 M rows/s
    awk -v label="$1" -v s="$2" -v rows="$rows" \
        'BEGIN { printf "goal >= 2 M rows/s, %s: %s\n", label, (rows / s >= 2e6 ? "met" : "NOT met") }'
}
goal "backtest text" "$text_s"
goal "backtest --json" "$json_s"
goal "indicators" "$ind_s"
printf 'backtest text / wc -l: %sx the floor\n' "$(ratio "$text_s" "$wc_s")"

# optimize: the whole command, and its evaluation phase alone (the "seconds" it reports, after
# the candles are loaded), which is what more cores speed up.
grid=(--strategy rsi --range period=8:20:2 --range oversold=20:35:5 --metric sharpe --top 3 --json)
eval_seconds() { # JOBS: best of RUNS evaluation times
    local best="" s i
    for ((i = 0; i < runs; i++)); do
        s=$("$engine" optimize --csv "$csv" "${grid[@]}" --jobs "$1" | sed -n 's/^ *"seconds" : \([0-9.eE+-]*\).*/\1/p')
        [[ -n $s ]] || die "optimize printed no seconds"
        if [[ -z $best ]] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
    done
    printf '%s\n' "$best"
}
one_s=$(best_seconds "$engine" optimize --csv "$csv" "${grid[@]}" --jobs 1)
all_s=$(best_seconds "$engine" optimize --csv "$csv" "${grid[@]}" --jobs "$cores")
one_eval=$(eval_seconds 1)
all_eval=$(eval_seconds "$cores")
report "optimize, 28 rsi sets, --jobs 1 (whole command)" "$one_s"
report "optimize, 28 rsi sets, --jobs $cores (whole command)" "$all_s"
printf 'optimize evaluation: --jobs 1 %.3f s, --jobs %s %.3f s: speed-up %sx (whole command %sx; goal >= 1.6x on 2 cores: %s)\n' \
    "$one_eval" "$cores" "$all_eval" "$(ratio "$one_eval" "$all_eval")" "$(ratio "$one_s" "$all_s")" \
    "$(awk -v a="$one_eval" -v b="$all_eval" 'BEGIN { print (a / b >= 1.6 ? "met" : "NOT met") }')"

if "$python" -c 'import backtesting' 2> /dev/null; then
    cat > "$work/rsi.py" <<'PY'
import sys, warnings
import pandas as pd
from backtesting import Backtest, Strategy

warnings.filterwarnings("ignore")

def rsi(close, period):
    delta = pd.Series(close).diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / period, adjust=False, min_periods=period).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / period, adjust=False, min_periods=period).mean()
    return 100 - 100 / (1 + gain / loss)

def sma(close, period):
    return pd.Series(close).rolling(period).mean()

class RSITrend(Strategy):
    def init(self):
        self.rsi = self.I(rsi, self.data.Close, 14)
        self.fast = self.I(sma, self.data.Close, 20)
        self.slow = self.I(sma, self.data.Close, 50)

    def next(self):
        if len(self.rsi) < 2:
            return
        previous, value = self.rsi[-2], self.rsi[-1]
        uptrend = self.fast[-1] > self.slow[-1]
        if not self.position and previous < 30 <= value and uptrend:
            self.buy()
        elif self.position and (previous > 70 >= value or not uptrend):
            self.position.close()

data = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
data.columns = [c.capitalize() for c in data.columns]
stats = Backtest(data, RSITrend, cash=10_000_000, commission=0.0026).run()
print(stats["# Trades"], "trades")
PY
    py_s=$(best_seconds "$python" "$work/rsi.py" "$csv")
    report "backtesting.py (same rules, same file)" "$py_s"
    printf 'backtest --csv is %sx faster than backtesting.py (goal >= 15x)\n' "$(ratio "$py_s" "$text_s")"
else
    printf 'backtesting.py: not installed for %s (pip install backtesting; PYTHON=...), skipped\n' "$python"
fi
