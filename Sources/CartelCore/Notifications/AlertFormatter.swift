import Foundation

/// Turns an outbox row into the message a trader reads (Telegram HTML): what happened first, then
/// the figures. Everything that came from outside is escaped.
public enum AlertFormatter {
    public static func text(_ alert: OutboxAlert, strategies: [Int64: String]) -> String {
        let values = (try? JSONSerialization.jsonObject(with: Data(alert.payload.utf8))) as? [String: Any] ?? [:]
        func field(_ name: String) -> String? {
            switch values[name] {
            case let text as String: return text.isEmpty ? nil : AlertText.escape(text)
            case let number as NSNumber: return number.stringValue
            default: return nil
            }
        }
        let strategy = (values["strategyId"] as? NSNumber).flatMap { strategies[$0.int64Value] }.map(AlertText.escape)
        let mode = field("mode").map { $0 == "paper" ? " (paper)" : " (\($0.uppercased()))" } ?? ""
        let who = strategy.map { "\n\($0)" } ?? ""
        switch alert.kind {
        case "order":
            let what = "\(field("side") ?? "?") \(field("quantity") ?? "?") \(field("pair") ?? "?")"
            switch field("status") {
            case "placed": return "<b>Order placed</b>\(mode)\n\(what)\(who)" + (field("reason").map { "\nreason: \($0)" } ?? "")
            case "filled":
                return "<b>Order filled</b>\(mode)\n\(field("side") ?? "?") \(field("filledQuantity") ?? field("quantity") ?? "?") \(field("pair") ?? "?")"
                    + (field("averagePrice").map { " @ \($0)" } ?? "") + (field("fee").map { ", fee \($0)" } ?? "") + who
            case "rejected": return "<b>Order rejected</b>\(mode)\n\(what)\(who)" + (field("error").map { "\n\($0)" } ?? "")
            case "unknown": return "<b>Order outcome unknown</b>\(mode)\n\(what)\(who)\nlooking it up on the exchange; it is never sent twice"
            case let status: return "<b>Order \(status ?? "changed")</b>\(mode)\n\(what)\(who)" + (field("error").map { "\n\($0)" } ?? "")
            }
        case "trade":
            let pnl = (values["pnl"] as? String).flatMap(DecimalText.parse)
            let cost = ((values["entryPrice"] as? String).flatMap(DecimalText.parse) ?? 0) * ((values["quantity"] as? String).flatMap(DecimalText.parse) ?? 0)
            let percent = pnl.flatMap { pnl -> String? in
                guard cost > 0 else { return nil }
                return NumberText.hundredths(NSDecimalNumber(decimal: pnl / cost * 100).doubleValue) + "%"
            }
            let reason = field("reason") ?? ""
            let title = reason.contains("stop-loss") ? "Stop-loss hit" : reason.contains("take-profit") ? "Take-profit hit" : "Trade closed"
            return "<b>\(title)</b>\(mode)\n\(field("pair") ?? "?") \(field("quantity") ?? "?"): \(field("entryPrice") ?? "?") → \(field("exitPrice") ?? "?")\n"
                + "P&amp;L <b>\(pnl.map { DecimalText.string($0.rounded(2, .plain)) } ?? "?")</b>" + (percent.map { " (\($0))" } ?? "")
                + (reason.isEmpty ? "" : ", \(reason)") + who
        case "pause":
            let paused = (values["paused"] as? Bool) ?? ((values["paused"] as? NSNumber)?.boolValue ?? true)
            return paused
                ? "<b>New entries paused</b> by \(field("by") ?? "?")\nexits still run"
                : "<b>New entries resumed</b> by \(field("by") ?? "?")"
        default:
            // A service's own news: its text was composed (and escaped) when it was enqueued.
            return (values["text"] as? String) ?? "<b>\(AlertText.escape(alert.kind))</b>"
        }
    }
}
