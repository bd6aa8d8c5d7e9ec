import Foundation

/// How paper orders fill: at the reference price moved `PAPER_SLIPPAGE_BPS` against you, paying
/// `TAKER_FEE_PERCENT` of the notional. Shared by the paper broker and the backtester, so both
/// fill exactly alike.
public struct PaperExecution: Sendable, Equatable {
    public var slippageBasisPoints: Decimal
    public var feePercent: Decimal

    public init(slippageBasisPoints: Decimal = 5, feePercent: Decimal = Decimal(string: "0.40")!) {
        self.slippageBasisPoints = slippageBasisPoints
        self.feePercent = feePercent
    }

    /// Fee and slippage as one fraction of the notional: what an entry must keep in reserve.
    public var costMargin: Decimal { feePercent / 100 + slippageBasisPoints / 10_000 }

    /// Fee scale: quote-currency amounts are kept to 8 decimals (Kraken's finest), rounded up.
    static let feeScale = 8

    /// The fill of a market order for `quantity` when the market stands at `referencePrice`.
    public func fill(side: OrderSide, quantity: Decimal, referencePrice: Decimal, lot: LotRules, at time: Date) -> Fill {
        let slip = slippageBasisPoints / 10_000
        let raw = side == .buy ? referencePrice * (1 + slip) : referencePrice * (1 - slip)
        // Rounded against the trader: a buy never fills below, a sell never above, the slipped price.
        let price = raw.rounded(lot.priceDecimals, side == .buy ? .up : .down)
        let fee = (quantity * price * feePercent / 100).rounded(Self.feeScale, .up)
        return Fill(quantity: quantity, price: price, fee: fee, time: time)
    }
}
