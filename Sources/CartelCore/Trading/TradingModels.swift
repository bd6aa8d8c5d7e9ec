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

    /// The rules Kraken states for a pair (`lot_decimals`, `pair_decimals`, `ordermin`).
    public init(_ pair: KrakenAssetPair) {
        self.init(quantityDecimals: pair.lotDecimals, priceDecimals: pair.pairDecimals, minimumQuantity: pair.ordermin ?? 0)
    }

    /// When the pair's rules are unknown (a CSV backtest): eight decimals, no minimum.
    public static let generic = LotRules()

    /// `quantity` cut down to the pair's lot precision (never rounded up: that would overspend).
    public func roundQuantity(_ quantity: Decimal) -> Decimal { quantity.rounded(quantityDecimals, .down) }

    public func roundPrice(_ price: Decimal) -> Decimal { price.rounded(priceDecimals, .plain) }
}

/// A market order the engine wants executed.
public struct OrderRequest: Sendable, Equatable {
    /// Unique per order; lets a restarted engine recognise an order it already sent.
    public var clientOrderID: String
    /// The strategy instance's key (its `strategies.id`, or its name in a backtest).
    public var strategyKey: String
    /// Kraken's `userref`: one per strategy instance, so exchange orders can be traced back.
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

    public init(quantity: Decimal, price: Decimal, fee: Decimal, time: Date, tradeID: String? = nil) {
        self.quantity = quantity
        self.price = price
        self.fee = fee
        self.time = time
        self.tradeID = tradeID
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
