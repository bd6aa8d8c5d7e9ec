/// The kinds of alert a trader can choose with `ALERT_EVENTS`.
public enum AlertCategory: String, Sendable, CaseIterable, Hashable {
    /// Orders placed, filled, rejected, of unknown outcome, canceled.
    case orders
    /// Trades closed (stop-loss and take-profit hits included).
    case trades
    /// New entries paused or resumed, from anywhere.
    case pause
    /// The trading engine started or stopped.
    case engine
    /// The drawdown kill switch, Kraken's circuit breaker, a live balance mismatch.
    case risk
    /// A service down (stopped beating without a clean stop) or back.
    case services
    /// The daily summary.
    case summary

    /// The category of an outbox row's `kind`; nil for answers to bot commands, always sent.
    public init?(outboxKind kind: String) {
        switch kind {
        case "order": self = .orders
        case "trade": self = .trades
        case "pause": self = .pause
        case "engine": self = .engine
        case "risk": self = .risk
        case "service": self = .services
        case "summary": self = .summary
        default: return nil
        }
    }
}
