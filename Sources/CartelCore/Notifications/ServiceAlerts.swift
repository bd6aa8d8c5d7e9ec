import Foundation

/// The texts of the alerts services write themselves (Telegram HTML, outside text escaped),
/// stored in the outbox as `{"text": …}` under their kind.
public enum ServiceAlerts {
    public static func engineStarted(mode: TradingMode, strategies: [StrategyRecord]) -> String {
        let pairs = Set(strategies.map(\.pair)).sorted()
        let names = strategies.map { AlertText.escape($0.name) }
        return "<b>Trading engine started</b> (\(modeName(mode)))\n"
            + (names.isEmpty ? "no strategies configured: nothing trades" : "\(names.count == 1 ? "strategy" : "\(names.count) strategies"): \(names.joined(separator: ", "))")
            + (pairs.isEmpty ? "" : "\npairs: \(pairs.map(AlertText.escape).joined(separator: ", "))")
    }

    public static func engineStopped(mode: TradingMode, openPositions: Int) -> String {
        "<b>Trading engine stopped</b> (\(modeName(mode)))\nopen positions: \(openPositions); their stops run again when it starts"
    }

    public static func killSwitch(_ reason: String) -> String {
        "<b>Drawdown kill switch</b>\n\(AlertText.escape(reason))"
    }

    public static func halted(_ reason: String) -> String {
        "<b>Trading halted</b>: no new entries, exits still run\n\(AlertText.escape(reason))"
    }

    public static func haltLifted(_ cause: String) -> String {
        "<b>Halt lifted</b>: the ledger agrees with Kraken's balances again (\(AlertText.escape(cause)))"
    }

    public static func breaker(group: String, opened: Bool, service: String) -> String {
        opened
            ? "<b>Kraken circuit breaker open</b> for \(AlertText.escape(group)) calls in \(AlertText.escape(service)): failing fast until Kraken answers again"
            : "<b>Kraken circuit breaker closed</b> for \(AlertText.escape(group)) calls in \(AlertText.escape(service)): calls resume"
    }

    static func modeName(_ mode: TradingMode) -> String {
        mode == .paper ? "paper" : mode.rawValue.uppercased()
    }

    /// The outbox payload of a composed text.
    public static func payload(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["text": text], options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension AlertStorage {
    /// Adds an alert whose text is already composed (Telegram HTML).
    @discardableResult
    public func enqueueMessage(kind: String, text: String, at time: Date) async throws -> Int64 {
        try await enqueueAlert(kind: kind, payload: ServiceAlerts.payload(text), at: time)
    }
}
