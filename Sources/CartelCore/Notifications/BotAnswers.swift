import Foundation

/// The texts of the bot's answers (Telegram HTML), from the figures the dashboard shows: pure
/// functions of their inputs, so an answer is the website's figure, formatted for a phone.
public enum BotAnswers {
    public static let help = """
        <b>SignalCartel commands</b>
        /status: services, mode, pause, open positions
        /balance: cash, positions, equity
        /trades [n]: the last n trades (5)
        /profit: P&amp;L, win rate, fees
        /performance: each strategy
        /daily [n]: P&amp;L per day, the last n days (7)
        /pause: no new entries (exits still run)
        /resume: entries again
        /help: this list
        """

    public static func status(_ status: StatusDTO, positions: PositionsDTO, now: Date, scale: Int16) -> String {
        var lines = ["<b>Status</b> (\(modeName(status.mode)))" + (status.paused ? ", <b>PAUSED</b> by \(AlertText.escape(status.pausedBy ?? "?"))" : "")]
        for service in status.services {
            let mark = switch service.state {
            case "running": "✅"
            case "stopped": "⏹"
            case "unknown": "⚪"
            default: "❌"
            }
            var line = "\(mark) \(service.name): \(service.state == "unknown" ? "never started here" : service.state)"
            if let uptime = service.uptimeSeconds { line += ", up \(duration(uptime))" }
            if let bytes = service.residentBytes { line += ", \(bytes / 1_048_576) MB" }
            if service.state == "stale", let beat = service.lastHeartbeat { line += ", last seen \(Int(now.timeIntervalSince(beat))) s ago" }
            lines.append(line)
        }
        if positions.positions.isEmpty {
            lines.append("no open positions")
        } else {
            lines.append("<b>Open positions</b>")
            for position in positions.positions {
                let pnl = position.unrealisedPnL.map { money($0, scale) } ?? "?"
                let percent = position.unrealisedPercent.map { " (\(NumberText.hundredths($0))%)" } ?? ""
                lines.append("\(AlertText.escape(position.pair)) \(position.quantity) @ \(position.averagePrice): \(pnl)\(percent), \(AlertText.escape(position.strategy))")
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func balance(mode: TradingMode, ledger: PortfolioLedger, marks: [String: Decimal], scale: Int16) -> String {
        let missing = Set(ledger.positions.values.map(\.pair)).subtracting(marks.keys).sorted()
        return """
            <b>Balance</b> (\(modeName(mode.rawValue)))
            cash \(money(ledger.cash, scale))
            positions \(money(ledger.positionsValue(marks: marks), scale)) (\(ledger.positions.count) open)
            equity <b>\(money(ledger.equity(marks: marks), scale))</b>
            realised P&amp;L \(money(ledger.realisedPnL, scale)), fees \(money(ledger.fees, scale))
            """ + (missing.isEmpty ? "" : "\nno recent ticker for \(missing.map(AlertText.escape).joined(separator: ", ")): valued at cost")
    }

    public static func trades(_ page: TradesPageDTO, scale: Int16) -> String {
        guard !page.trades.isEmpty else { return "No trades yet (\(modeName(page.mode)))." }
        var lines = ["<b>Last \(page.trades.count) trades</b> (\(modeName(page.mode)))"]
        for trade in page.trades {
            let result = trade.realisedPnL.map { "P&amp;L \(money($0, scale))" } ?? "open"
            let exit = trade.exitPrice.map { " → \($0)" } ?? ""
            lines.append("#\(trade.id) \(AlertText.escape(trade.pair)) \(trade.quantity): \(trade.entryPrice)\(exit), \(result)"
                + (trade.exitReason.map { ", \(AlertText.escape($0))" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    public static func profit(_ report: PerformanceReportDTO, scale: Int16) -> String {
        let total = report.total
        return """
            <b>Profit</b> (\(modeName(report.mode)))
            P&amp;L <b>\(money(total.totalPnL, scale))</b> on \(total.trades) closed trades
            win rate \(total.winRatePercent.map { NumberText.hundredths($0) + "%" } ?? "–") (\(total.wins) won, \(total.losses) lost)
            fees \(money(total.fees, scale)), max drawdown \(NumberText.hundredths(total.maxDrawdownPercent))%
            profit factor \(total.profitFactor.map(NumberText.hundredths) ?? "–")
            """
    }

    public static func performance(_ report: PerformanceReportDTO, scale: Int16) -> String {
        guard !report.strategies.isEmpty else { return "No strategies have closed trades yet (\(modeName(report.mode)))." }
        var lines = ["<b>Performance</b> (\(modeName(report.mode)))"]
        for row in report.strategies {
            lines.append("\(AlertText.escape(row.strategy)): \(money(row.stats.totalPnL, scale)), \(row.stats.trades) trades, "
                + "win \(row.stats.winRatePercent.map { NumberText.hundredths($0) + "%" } ?? "–")")
        }
        lines.append("total: <b>\(money(report.total.totalPnL, scale))</b>")
        return lines.joined(separator: "\n")
    }

    /// P&L of the trades closed on each of the last `days` days (UTC), newest first.
    public static func daily(_ trades: [TradeDTO], days: Int, mode: String, now: Date, scale: Int16) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let today = calendar.startOfDay(for: now)
        var lines = ["<b>Daily P&amp;L</b> (\(modeName(mode)), UTC)"]
        for offset in 0..<days {
            guard let start = calendar.date(byAdding: .day, value: -offset, to: today),
                let end = calendar.date(byAdding: .day, value: 1, to: start)
            else { continue }
            let closed = trades.filter { trade in trade.exitTime.map { $0 >= start && $0 < end } ?? false }
            let pnl = closed.compactMap { $0.realisedPnL.flatMap(DecimalText.parse) }.reduce(Decimal(0), +)
            lines.append("\(UTCTime.iso8601(start, fractional: false).prefix(10)): \(money(DecimalText.string(pnl), scale)) (\(closed.count) trades)")
        }
        return lines.joined(separator: "\n")
    }

    /// The daily summary: the trades closed in the day, their result, best and worst, fees, the
    /// equity at the end of the day and the positions still open.
    public static func dailySummary(
        day: String, timeZone: String, mode: String, closed: [TradeDTO], equity: String?, positions: PositionsDTO, scale: Int16
    ) -> String {
        let results = closed.compactMap { $0.realisedPnL.flatMap(DecimalText.parse) }
        let wins = results.filter { $0 > 0 }.count
        let fees = closed.reduce(Decimal(0)) { sum, trade in
            sum + (DecimalText.parse(trade.entryFee) ?? 0) + (trade.exitFee.flatMap(DecimalText.parse) ?? 0)
        }
        var lines = ["<b>Daily summary</b> \(day) (\(modeName(mode)), \(AlertText.escape(timeZone)))"]
        if results.isEmpty {
            lines.append("no trades closed")
        } else {
            lines.append("\(results.count) trades closed, win rate \(NumberText.hundredths(Double(wins) / Double(results.count) * 100))%")
            lines.append("P&amp;L <b>\(money(results.reduce(0, +), scale))</b>, fees \(money(fees, scale))")
            lines.append("best \(money(results.max() ?? 0, scale)), worst \(money(results.min() ?? 0, scale))")
        }
        lines.append("equity \(equity.map { money($0, scale) } ?? "–")")
        let unrealised = positions.positions.compactMap { $0.unrealisedPnL.flatMap(DecimalText.parse) }.reduce(Decimal(0), +)
        lines.append(positions.positions.isEmpty ? "no open positions" : "\(positions.positions.count) open positions, unrealised \(money(unrealised, scale))")
        return lines.joined(separator: "\n")
    }

    static func money(_ text: String, _ scale: Int16) -> String {
        DecimalText.parse(text).map { money($0, scale) } ?? AlertText.escape(text)
    }

    static func money(_ value: Decimal, _ scale: Int16) -> String {
        var rounded = Decimal()
        var source = value
        NSDecimalRound(&rounded, &source, Int(scale), .plain)
        return DecimalText.string(rounded)
    }

    /// Decimal places for money in answers: cents when every pair is quoted in a fiat currency or
    /// a dollar stablecoin, else eight (a BTC-quoted P&L of 0.004 is not "0").
    public static func scale(pairs: [String]) -> Int16 {
        let fiat: Set<String> = ["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "USDT", "USDC", "DAI"]
        let quotes = pairs.compactMap { $0.split(separator: "/").last.map { $0.uppercased() } }
        return !quotes.isEmpty && quotes.allSatisfy(fiat.contains) ? 2 : 8
    }

    static func modeName(_ mode: String) -> String { mode == "paper" ? "paper" : mode.uppercased() }

    static func duration(_ seconds: Int) -> String {
        seconds >= 86_400 ? "\(seconds / 86_400)d \(seconds % 86_400 / 3600)h"
            : seconds >= 3600 ? "\(seconds / 3600)h \(seconds % 3600 / 60)m" : "\(seconds / 60)m \(seconds % 60)s"
    }
}
