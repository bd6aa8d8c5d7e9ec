import Foundation

/// An open long position held by one strategy instance.
public struct Position: Sendable, Equatable {
    public var strategyKey: String
    public var pair: String
    public var quantity: Decimal
    /// What the quantity held cost, Σ quantity × price over the entry fills, fees excluded (they
    /// are booked separately). Kept instead of an average price so that no division ever rounds.
    public var cost: Decimal
    /// Fees paid on the entry fills, carried to the trade when it closes.
    public var entryFees: Decimal
    public var openedAt: Date

    public init(strategyKey: String, pair: String, quantity: Decimal, cost: Decimal, entryFees: Decimal, openedAt: Date) {
        self.strategyKey = strategyKey
        self.pair = pair
        self.quantity = quantity
        self.cost = cost
        self.entryFees = entryFees
        self.openedAt = openedAt
    }

    /// Volume-weighted entry price, for display and for percent-based exits.
    public var averagePrice: Decimal { quantity == 0 ? 0 : cost / quantity }
}

/// A round trip: entry and exit of one position.
public struct ClosedTrade: Sendable, Equatable, Codable {
    public var strategyKey: String
    public var pair: String
    public var quantity: Decimal
    public var entryTime: Date
    public var entryPrice: Decimal
    public var entryFee: Decimal
    public var exitTime: Date
    public var exitPrice: Decimal
    public var exitFee: Decimal
    /// (exit − entry) × quantity, before fees.
    public var grossPnL: Decimal
    /// Gross P&L minus both fees: what the trade really made.
    public var netPnL: Decimal
    public var exitReason: String
}

/// Cash, positions, realised P&L and fees, all exact. Every fill goes through ``apply(_:side:strategyKey:pair:reason:)``,
/// which keeps the accounting identity
/// `cash + Σ quantity × mark = starting balance + deposits + realised P&L − fees + unrealised P&L`
/// (``invariantHolds(marks:)``) true after every step. Long-only spot: through `apply` a sell
/// never exceeds the position and cash never goes negative; fills the exchange reports are
/// booked through `record` even when they break those limits (they happened), and say so.
public struct PortfolioLedger: Sendable, Equatable {
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case insufficientCash(needed: Decimal, available: Decimal)
        case noPosition(strategyKey: String)
        case sellExceedsPosition(quantity: Decimal, held: Decimal)
        case nonPositive(String)

        public var description: String {
            switch self {
            case .insufficientCash(let needed, let available): "insufficient cash: needs \(needed), has \(available)"
            case .noPosition(let key): "\(key) holds no position to sell"
            case .sellExceedsPosition(let quantity, let held): "sell of \(quantity) exceeds the \(held) held"
            case .nonPositive(let what): "\(what) must be positive"
            }
        }
    }

    /// Decimal places of a partial sell's share of cost and fees.
    static let shareScale = 16

    public let startingBalance: Decimal
    public private(set) var cash: Decimal
    public private(set) var realisedPnL: Decimal = 0
    public private(set) var fees: Decimal = 0
    /// Money moved into (+) or out of (−) the account by hand since the start.
    public private(set) var deposits: Decimal = 0
    /// Open positions by strategy key.
    public private(set) var positions: [String: Position] = [:]

    public init(startingBalance: Decimal) {
        self.startingBalance = startingBalance
        self.cash = startingBalance
    }

    /// Rebuilds a ledger from stored state (restart recovery).
    public init(startingBalance: Decimal, cash: Decimal, realisedPnL: Decimal, fees: Decimal, positions: [Position]) {
        self.startingBalance = startingBalance
        self.cash = cash
        self.realisedPnL = realisedPnL
        self.fees = fees
        self.positions = Dictionary(positions.map { ($0.strategyKey, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Money moved in (+) or out (−) of the account outside trading (adopted from the exchange).
    public mutating func deposit(_ amount: Decimal) {
        cash += amount
        deposits += amount
    }

    /// Books one fill the account can hold (paper fills, backtests). A buy opens or adds to the
    /// strategy's position; a sell reduces it and returns the piece of the trade it closed.
    /// Throws, changing nothing, when a spot account could not do it: a buy beyond the cash, a
    /// sell of more than the position holds.
    @discardableResult
    public mutating func apply(_ fill: Fill, side: OrderSide, strategyKey: String, pair: String, reason: String = "") throws -> ClosedTrade? {
        if let problem = check(fill, side: side, strategyKey: strategyKey) { throw problem }
        return book(fill, side: side, strategyKey: strategyKey, pair: pair, reason: reason)
    }

    /// Books a fill that happened whatever the ledger thinks of it (an exchange execution, or a
    /// stored fill replayed after a restart). It is booked anyway — cash may go negative, a sell
    /// beyond the position realises the excess with no cost basis — and what a spot account
    /// could not have done is returned as the anomaly, for the caller to report. The accounting
    /// identity holds either way. Fills with a non-positive quantity or price cannot have
    /// happened and are not booked.
    public mutating func record(
        _ fill: Fill, side: OrderSide, strategyKey: String, pair: String, reason: String = ""
    ) -> (trade: ClosedTrade?, anomaly: Rejection?) {
        let problem = check(fill, side: side, strategyKey: strategyKey)
        if case .nonPositive = problem { return (nil, problem) }
        return (book(fill, side: side, strategyKey: strategyKey, pair: pair, reason: reason), problem)
    }

    func check(_ fill: Fill, side: OrderSide, strategyKey: String) -> Rejection? {
        guard fill.quantity > 0 else { return .nonPositive("fill quantity") }
        guard fill.price > 0, fill.cost > 0 else { return .nonPositive("fill price") }
        guard fill.fee >= 0 else { return .nonPositive("fee") }
        switch side {
        case .buy:
            let needed = fill.cost + fill.fee
            return needed <= cash ? nil : .insufficientCash(needed: needed, available: cash)
        case .sell:
            guard let position = positions[strategyKey] else { return .noPosition(strategyKey: strategyKey) }
            return fill.quantity <= position.quantity ? nil : .sellExceedsPosition(quantity: fill.quantity, held: position.quantity)
        }
    }

    private mutating func book(_ fill: Fill, side: OrderSide, strategyKey: String, pair: String, reason: String) -> ClosedTrade? {
        let notional = fill.cost
        switch side {
        case .buy:
            cash -= notional + fill.fee
            fees += fill.fee
            if var position = positions[strategyKey] {
                position.quantity += fill.quantity
                position.cost += notional
                position.entryFees += fill.fee
                positions[strategyKey] = position
            } else {
                positions[strategyKey] = Position(
                    strategyKey: strategyKey, pair: pair, quantity: fill.quantity, cost: notional,
                    entryFees: fill.fee, openedAt: fill.time)
            }
            return nil
        case .sell:
            let position = positions[strategyKey]
                ?? Position(strategyKey: strategyKey, pair: pair, quantity: 0, cost: 0, entryFees: 0, openedAt: fill.time)
            // The shares of the cost and entry fees that belong to the part sold. A partial sell
            // rounds them to a fixed scale (so sums never outgrow Decimal's 38 digits); whatever is
            // not taken now stays with the rest, so nothing is lost and the identity stays exact.
            // A sell beyond the position (only ever booked from the exchange) takes all of it.
            let whole = fill.quantity >= position.quantity
            let cost = whole ? position.cost : (position.cost * fill.quantity / position.quantity).rounded(Self.shareScale, .plain)
            let entryFee = whole
                ? position.entryFees : (position.entryFees * fill.quantity / position.quantity).rounded(Self.shareScale, .plain)
            let entryPrice = position.averagePrice
            let gross = notional - cost
            cash += notional - fill.fee
            fees += fill.fee
            realisedPnL += gross
            var rest = position
            rest.quantity -= min(fill.quantity, position.quantity)
            rest.cost -= cost
            rest.entryFees -= entryFee
            positions[strategyKey] = rest.quantity == 0 ? nil : rest
            return ClosedTrade(
                strategyKey: strategyKey, pair: pair, quantity: fill.quantity, entryTime: position.openedAt,
                entryPrice: entryPrice, entryFee: entryFee, exitTime: fill.time, exitPrice: fill.price,
                exitFee: fill.fee, grossPnL: gross, netPnL: gross - entryFee - fill.fee, exitReason: reason)
        }
    }

    /// Market value of the positions at `marks` (price per pair; a pair without a mark is valued
    /// at cost).
    public func positionsValue(marks: [String: Decimal]) -> Decimal {
        positions.values.reduce(0) { total, position in
            total + (marks[position.pair].map { position.quantity * $0 } ?? position.cost)
        }
    }

    public func unrealisedPnL(marks: [String: Decimal]) -> Decimal {
        positions.values.reduce(0) { total, position in
            total + (marks[position.pair].map { position.quantity * $0 } ?? position.cost) - position.cost
        }
    }

    public func equity(marks: [String: Decimal]) -> Decimal { cash + positionsValue(marks: marks) }

    /// The accounting identity, exactly.
    public func invariantHolds(marks: [String: Decimal]) -> Bool {
        cash + positionsValue(marks: marks) == startingBalance + deposits + realisedPnL - fees + unrealisedPnL(marks: marks)
    }
}
