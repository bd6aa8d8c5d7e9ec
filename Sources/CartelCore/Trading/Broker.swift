import Foundation

/// What a broker did with an order. Every placement ends in exactly one of these; none is
/// ever retried by the engine (an order whose fate is unknown is looked up, never sent again).
public enum BrokerOutcome: Sendable, Equatable {
    /// Executed at once (paper).
    case filled(Fill)
    /// Accepted by the exchange; fills arrive later and are reconciled.
    case accepted(exchangeOrderID: String)
    /// Checked by the exchange (`validate=true`); nothing executed.
    case validated(description: String)
    /// Certainly not placed; the reason is for the log and the order row.
    case rejected(String)
    /// The request may or may not have reached the exchange (a timeout, a 5xx, a dropped
    /// connection): the order stays open and is looked up by its `userref`.
    case unknown(String)
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

/// An order found on the exchange by its `userref`.
public struct FoundOrder: Sendable, Equatable {
    public var exchangeOrderID: String
    public var update: OrderUpdate

    public init(exchangeOrderID: String, update: OrderUpdate) {
        self.exchangeOrderID = exchangeOrderID
        self.update = update
    }
}

/// Executes market orders. The engine never retries a placement: an order whose fate is unknown
/// is reconciled, not sent again.
public protocol Broker: Sendable {
    var mode: TradingMode { get }
    func execute(_ order: OrderRequest, lot: LotRules) async throws -> BrokerOutcome
    /// The state of accepted orders, by their exchange ids.
    func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate]
    /// The exchange's order that is `order` — the one placed with its `userref`, on its side and
    /// for its quantity, at about its time — open or closed, if the exchange has it.
    func find(_ order: OrderRecord) async throws -> FoundOrder?
    /// The account's balances by asset code (`ZUSD`, `XXBT`), or nil when the broker has no
    /// account of its own (paper).
    func balances() async throws -> [String: Decimal]?
}

extension Broker {
    /// Brokers that fill at once have nothing to reconcile.
    public func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate] { [:] }
    public func find(_ order: OrderRecord) async throws -> FoundOrder? { nil }
    public func balances() async throws -> [String: Decimal]? { nil }
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
