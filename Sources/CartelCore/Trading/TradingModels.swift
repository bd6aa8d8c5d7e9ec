import Foundation

/// How orders are executed: `paper` (simulated, the default), `validate` (real signed Kraken calls
/// with `validate=true`, nothing executed) or `live` (real orders).
public enum TradingMode: String, Sendable, CaseIterable, Codable {
    case paper
    case validate
    case live
}

public enum OrderSide: String, Sendable, Codable {
    case buy
    case sell
}

/// How precisely a pair trades: Kraken's `lot_decimals`, `pair_decimals` and `ordermin`.
public struct LotRules: Sendable, Equatable {
    public var quantityDecimals: Int
    public var priceDecimals: Int
    public var minimumQuantity: Decimal

    public init(quantityDecimals: Int = 8, priceDecimals: Int = 8, minimumQuantity: Decimal = 0) {
        self.quantityDecimals = quantityDecimals
        self.priceDecimals = priceDecimals
        self.minimumQuantity = minimumQuantity
    }

    /// When the pair's rules are unknown (a CSV backtest): eight decimals, no minimum.
    public static let generic = LotRules()

    /// The smallest quantity step (10^-quantityDecimals).
    public var quantityStep: Decimal { Decimal(sign: .plus, exponent: -quantityDecimals, significand: 1) }

    /// `quantity` cut down to the pair's lot precision (never rounded up: that would overspend).
    public func roundQuantity(_ quantity: Decimal) -> Decimal { quantity.rounded(quantityDecimals, .down) }

    public func roundPrice(_ price: Decimal) -> Decimal { price.rounded(priceDecimals, .plain) }
}

/// What the engine needs to know about a tradable pair: how precisely it trades and which
/// assets its base and quote are on the account (for balance checks in live mode).
public struct Instrument: Sendable, Equatable {
    public var pair: String
    public var lot: LotRules
    /// The account's code for the base asset (Kraken's `XXBT`), and for the quote (`ZUSD`).
    public var baseAsset: String
    public var quoteAsset: String

    public init(pair: String, lot: LotRules, baseAsset: String, quoteAsset: String) {
        self.pair = pair
        self.lot = lot
        self.baseAsset = baseAsset
        self.quoteAsset = quoteAsset
    }
}

/// Looks up instruments by the pair names users write (`BTC/USD`).
public protocol InstrumentDirectory: Sendable {
    func instrument(for pair: String) async -> Instrument?
}

/// A market order the engine wants executed.
public struct OrderRequest: Sendable, Equatable {
    /// Unique per order; lets a restarted engine recognise an order it already sent.
    public var clientOrderID: String
    /// The strategy instance's key (its `strategies.id`, or its name in a backtest).
    public var strategyKey: String
    /// Kraken's `userref`: the order's row id, so an order whose placement outcome is unknown
    /// can be found on the exchange (`OpenOrders`/`ClosedOrders` filtered by it).
    public var userref: Int32
    public var pair: String
    public var side: OrderSide
    public var quantity: Decimal
    /// The latest price the engine knows (the paper broker fills against it).
    public var referencePrice: Decimal
    public var time: Date

    public init(
        clientOrderID: String, strategyKey: String, userref: Int32, pair: String, side: OrderSide, quantity: Decimal,
        referencePrice: Decimal, time: Date
    ) {
        self.clientOrderID = clientOrderID
        self.strategyKey = strategyKey
        self.userref = userref
        self.pair = pair
        self.side = side
        self.quantity = quantity
        self.referencePrice = referencePrice
        self.time = time
    }
}

/// One execution of (part of) an order.
public struct Fill: Sendable, Equatable {
    public var quantity: Decimal
    public var price: Decimal
    public var fee: Decimal
    public var time: Date
    /// The exchange's trade id when there is one (live); nil on paper.
    public var tradeID: String?
    /// What the executed quantity cost in quote currency, fees excluded: `quantity × price` on
    /// paper; the exchange's own figure when it reports one (Kraken's `cost`, which its average
    /// `price` only approximates), so the ledger moves cash exactly as the account did.
    public var cost: Decimal

    public init(quantity: Decimal, price: Decimal, fee: Decimal, time: Date, tradeID: String? = nil, cost: Decimal? = nil) {
        self.quantity = quantity
        self.price = price
        self.fee = fee
        self.time = time
        self.tradeID = tradeID
        self.cost = cost ?? quantity * price
    }
}

extension Decimal {
    /// 0.01, for percentages.
    static let hundredth = Decimal(sign: .plus, exponent: -2, significand: 1)

    /// This value rounded to `scale` decimal places.
    public func rounded(_ scale: Int, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var input = self
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, mode)
        return result
    }

    /// For analysis values only (indicators, statistics), never for money. Values whose
    /// mantissa fits 53 bits with at most 22 decimal places or zeros (every price and volume
    /// Kraken sends) convert with one correctly rounded operation and no allocation.
    public var doubleValue: Double {
        if let fast = DecimalText.fastDouble(self) { return fast }
        return NSDecimalNumber(decimal: self).doubleValue
    }
}
