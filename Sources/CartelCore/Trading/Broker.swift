import Foundation

/// What a broker did with an order.
public enum BrokerOutcome: Sendable, Equatable {
    /// Executed at once (paper).
    case filled(Fill)
    /// Accepted by the exchange; fills arrive later and are reconciled.
    case accepted(exchangeOrderID: String)
    /// Checked by the exchange (`validate=true`); nothing executed.
    case validated(description: String)
    /// Refused; the reason is for the log and the order row.
    case rejected(String)
}

/// What the exchange says about an order it accepted earlier.
public enum OrderUpdate: Sendable, Equatable {
    /// Done, with what executed (the whole order, or what executed before a cancel).
    case filled(Fill)
    /// Ended with nothing executed.
    case ended(String)
    /// Still working.
    case open
}

/// Executes market orders. The engine never retries a placement: an order whose fate is unknown
/// is reconciled, not sent again.
public protocol Broker: Sendable {
    var mode: TradingMode { get }
    func execute(_ order: OrderRequest, lot: LotRules) async throws -> BrokerOutcome
    /// The state of accepted orders, by their exchange ids.
    func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate]
}

extension Broker {
    /// Brokers that fill at once have nothing to reconcile.
    public func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate] { [:] }
}

/// The default broker (`TRADING_MODE=paper`): fills every market order at once at the engine's
/// reference price with slippage and the taker fee (``PaperExecution``).
public struct PaperBroker: Broker {
    public let execution: PaperExecution
    public var mode: TradingMode { .paper }

    public init(execution: PaperExecution) {
        self.execution = execution
    }

    public func execute(_ order: OrderRequest, lot: LotRules) async throws -> BrokerOutcome {
        guard order.quantity > 0, order.referencePrice > 0 else {
            return .rejected("paper order needs a positive quantity and price")
        }
        return .filled(execution.fill(side: order.side, quantity: order.quantity, referencePrice: order.referencePrice, lot: lot, at: order.time))
    }
}
