import Foundation

/// `backtest --html FILE`: one self-contained HTML page (the website's stylesheet inline, no
/// script, no external reference) with the figures of ``BacktestSummary``, the equity curve,
/// the drawdown, the price with every entry and exit marked, and the trade table. The charts are
/// the website's own ``SVGChart`` code. Every text from outside (strategy, pair, reasons) is
/// escaped.
public enum BacktestHTML {
    public static func page(
        report: BacktestReport, result: BacktestResult, summary: BacktestSummary, candles: [StrategyCandle], generatedAt: Date
    ) -> String {
        let e = SVGChart.escape
        let title = "Backtest \(report.strategy) on \(report.pair) \(report.intervalMinutes)m"
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title))</title>
            <style>\(WebsiteAssets.css)
            .report-meta{margin:.2rem 0 1rem}
            </style></head><body><main>
            <h1>\(e(title))</h1>
            <p class="muted report-meta">\(report.candles) candles\(summary.start.map { " from " + UTCTime.iso8601($0, fractional: false) } ?? "")\(summary.end.map { " to " + UTCTime.iso8601($0, fractional: false) } ?? "")\
            \(report.parameters.isEmpty ? "" : " · parameters " + e(OptimizeReport.parameters(report.parameters))) · made \(UTCTime.iso8601(generatedAt, fractional: false))</p>

            """
        html += figures(report: report, summary: summary)
        if let haltReason = report.haltReason { html += "<p class=\"error\">\(e(haltReason))</p>\n" }
        if report.rejectedEntries > 0 {
            html += "<p class=\"muted\">Entries refused by risk: \(report.rejectedEntries) (last: \(e(report.lastRejection ?? "")))</p>\n"
        }

        html += "<h2>Equity</h2>\n<div class=\"chart\">"
        let equity = result.track.points.map { ChartPoint(time: $0.time, value: $0.equity) }
        html += SVGChart.line(equity, title: "Equity", valueFormat: { NumberText.hundredths($0) }, width: 800, height: 260)
        html += "</div>\n<h2>Drawdown</h2>\n<div class=\"chart\">"
        let drawdown = result.track.points.map { ChartPoint(time: $0.time, value: -$0.drawdown * 100) }
        html += SVGChart.line(drawdown, title: "Drawdown %", valueFormat: { NumberText.hundredths($0) + "%" }, width: 800, height: 200)
        html += "</div>\n<h2>Price and trades</h2>\n<div class=\"chart\">"
        let chartCandles = candles.map {
            ChartCandle(time: $0.time, open: $0.open, high: $0.high, low: $0.low, close: $0.close, volume: $0.volume)
        }
        var markers: [ChartMarker] = []
        for (number, trade) in result.trades.enumerated() {
            markers.append(ChartMarker(
                time: trade.entryTime, price: trade.entryPrice.doubleValue, isBuy: true,
                label: "#\(number + 1) buy \(trade.quantity) at \(trade.entryPrice)"))
            markers.append(ChartMarker(
                time: trade.exitTime, price: trade.exitPrice.doubleValue, isBuy: false,
                label: "#\(number + 1) sell at \(trade.exitPrice) (\(trade.exitReason)): P&L \(trade.netPnL.rounded(2, .plain))"))
        }
        html += SVGChart.candles(chartCandles, overlays: [], markers: markers, title: report.pair, width: 960, height: 420)
        html += "</div>\n"
        html += tradeTable(report.trades)
        html += "</main></body></html>\n"
        return html
    }

    static func figures(report: BacktestReport, summary: BacktestSummary) -> String {
        let s = report.stats
        func percent(_ value: Double?) -> String { value.map { NumberText.hundredths($0) + "%" } ?? "–" }
        func number(_ value: Double?) -> String { value.map(NumberText.hundredths) ?? "–" }
        let items: [(String, String, Double?)] = [
            ("Total return", percent(summary.totalReturnPercent), summary.totalReturnPercent),
            ("Buy and hold", percent(summary.buyAndHoldReturnPercent), summary.buyAndHoldReturnPercent),
            ("CAGR", percent(summary.cagrPercent), summary.cagrPercent),
            ("Sharpe", number(summary.sharpe), nil),
            ("Sortino", number(summary.sortino), nil),
            ("Calmar", number(summary.calmar), nil),
            ("Max drawdown", percent(-summary.maxDrawdownPercent), -summary.maxDrawdownPercent),
            ("Max drawdown duration", duration(summary.maxDrawdownDurationSeconds), nil),
            ("Trades", "\(s.trades)", nil),
            ("Win rate", percent(summary.winRatePercent), nil),
            ("Profit factor", number(summary.profitFactor), nil),
            ("Expectancy per trade", summary.expectancy.map { "\($0.rounded(2, .plain))" } ?? "–", summary.expectancy?.doubleValue),
            ("Best trade", percent(summary.bestTradePercent), summary.bestTradePercent),
            ("Worst trade", percent(summary.worstTradePercent), summary.worstTradePercent),
            ("Exposure", percent(summary.exposurePercent), nil),
            ("Net P&L", "\(s.totalPnL.rounded(2, .plain))", s.totalPnL.doubleValue),
            ("Fees", "\(s.fees.rounded(2, .plain))", nil),
            ("Equity", "\(s.startingBalance) → \(s.finalEquity.rounded(2, .plain))", nil),
        ]
        var html = "<div class=\"totals\">\n"
        for (label, value, sign) in items {
            let tone = sign.map { $0 > 0 ? " pos" : $0 < 0 ? " neg" : "" } ?? ""
            html += "<div class=\"stat\"><span class=\"value\(tone)\">\(SVGChart.escape(value))</span><span class=\"label\">\(label)</span></div>\n"
        }
        return html + "</div>\n"
    }

    static func tradeTable(_ trades: [BacktestReport.Trade]) -> String {
        guard !trades.isEmpty else { return "<h2>Trades</h2>\n<p class=\"muted\">No closed trades.</p>\n" }
        var html = """
            <h2>Trades (\(trades.count))</h2>
            <div class="table-wrap"><table class="data"><thead><tr><th class="num">#</th><th>Entry time</th><th>Exit time</th>\
            <th class="num">Entry price</th><th class="num">Exit price</th><th class="num">Quantity</th><th class="num">Fees</th>\
            <th class="num">P&amp;L</th><th>Exit</th></tr></thead><tbody>

            """
        for (index, trade) in trades.enumerated() {
            let tone = trade.pnl > 0 ? "pos" : trade.pnl < 0 ? "neg" : ""
            html += "<tr><td class=\"num\">\(index + 1)</td><td>\(trade.entryTime)</td><td>\(trade.exitTime)</td>"
                + "<td class=\"num\">\(trade.entryPrice)</td><td class=\"num\">\(trade.exitPrice)</td><td class=\"num\">\(trade.quantity)</td>"
                + "<td class=\"num\">\(trade.fees.rounded(4, .plain))</td><td class=\"num \(tone)\">\(trade.pnl.rounded(4, .plain))</td>"
                + "<td>\(SVGChart.escape(trade.exitReason))</td></tr>\n"
        }
        return html + "</tbody></table></div>\n"
    }

    /// `3d 4h`, `5h 12m`, `42m`.
    static func duration(_ seconds: Double) -> String {
        let minutes = Int(seconds / 60)
        let (days, hours, rest) = (minutes / 1_440, minutes % 1_440 / 60, minutes % 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(rest)m" }
        return "\(rest)m"
    }
}
