import Foundation

/// How paper orders fill: at the reference price moved `PAPER_SLIPPAGE_BPS` against you, paying
/// `TAKER_FEE_PERCENT` of the notional. Shared by the paper broker and the backtester, so both
/// fill exactly alike.
public struct PaperExecution: Sendable, Equatable {
    public let slippageBasisPoints: Decimal
    public let feePercent: Decimal
    // The same settings as factors, computed once (Decimal arithmetic is slow enough to matter
    // in a backtest of millions of candles).
    let buyFactor: Decimal
    let sellFactor: Decimal
    let feeFraction: Decimal

    public init(slippageBasisPoints: Decimal = 5, feePercent: Decimal = Decimal(string: "0.40")!) {
        self.slippageBasisPoints = slippageBasisPoints
        self.feePercent = feePercent
        let slip = slippageBasisPoints * Decimal(string: "0.0001")!
        buyFactor = 1 + slip
        sellFactor = 1 - slip
        feeFraction = feePercent * Decimal.hundredth
    }

    /// Fee scale: quote-currency amounts are kept to 8 decimals (Kraken's finest), rounded up.
    static let feeScale = 8

    /// What buying `quantity` costs in all, fee included, exactly as ``fill(side:quantity:referencePrice:lot:at:)``
    /// would book it (the ledger refuses a buy whose cost exceeds the cash).
    public func buyCost(quantity: Decimal, referencePrice: Decimal, lot: LotRules) -> Decimal {
        let fill = fill(side: .buy, quantity: quantity, referencePrice: referencePrice, lot: lot, at: Date(timeIntervalSince1970: 0))
        return fill.cost + fill.fee
    }

    /// The price a buy fills at: the reference moved against you and rounded up to the pair's precision.
    func buyPrice(_ referencePrice: Decimal, lot: LotRules) -> Decimal {
        (referencePrice * buyFactor).rounded(lot.priceDecimals, .up)
    }

    /// The fill of a market order for `quantity` when the market stands at `referencePrice`.
    public func fill(side: OrderSide, quantity: Decimal, referencePrice: Decimal, lot: LotRules, at time: Date) -> Fill {
        let raw = referencePrice * (side == .buy ? buyFactor : sellFactor)
        // Rounded against the trader: a buy never fills below, a sell never above, the slipped price.
        let price = raw.rounded(lot.priceDecimals, side == .buy ? .up : .down)
        let fee = (quantity * price * feeFraction).rounded(Self.feeScale, .up)
        return Fill(quantity: quantity, price: price, fee: fee, time: time)
    }
}
