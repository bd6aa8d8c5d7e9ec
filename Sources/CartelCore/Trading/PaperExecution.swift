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
    /// Fee and slippage as one fraction of the notional: what an entry must keep in reserve.
    public let costMargin: Decimal

    public init(slippageBasisPoints: Decimal = 5, feePercent: Decimal = Decimal(string: "0.40")!) {
        self.slippageBasisPoints = slippageBasisPoints
        self.feePercent = feePercent
        let slip = slippageBasisPoints * Decimal(string: "0.0001")!
        buyFactor = 1 + slip
        sellFactor = 1 - slip
        feeFraction = feePercent * Decimal.hundredth
        costMargin = feeFraction + slip
    }

    /// Fee scale: quote-currency amounts are kept to 8 decimals (Kraken's finest), rounded up.
    static let feeScale = 8

    /// The fill of a market order for `quantity` when the market stands at `referencePrice`.
    public func fill(side: OrderSide, quantity: Decimal, referencePrice: Decimal, lot: LotRules, at time: Date) -> Fill {
        let raw = referencePrice * (side == .buy ? buyFactor : sellFactor)
        // Rounded against the trader: a buy never fills below, a sell never above, the slipped price.
        let price = raw.rounded(lot.priceDecimals, side == .buy ? .up : .down)
        let fee = (quantity * price * feeFraction).rounded(Self.feeScale, .up)
        return Fill(quantity: quantity, price: price, fee: fee, time: time)
    }
}
