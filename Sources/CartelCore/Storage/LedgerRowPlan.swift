import Foundation

/// How booking a fill changes the `orders` and `trades` rows, computed exactly in `Decimal` and
/// shared by both storage backends: each one reads the rows, asks these, and writes the answer
/// in the fill's transaction. Nothing here touches a database.
enum LedgerRowPlan {
    /// A stored fill of an order, as `fills` holds it (`cost` only when it is not
    /// `quantity × price`).
    struct StoredFill: Sendable, Equatable {
        var quantity: Decimal
        var price: Decimal
        var fee: Decimal
        var cost: Decimal?
    }

    /// An order's totals over all its fills.
    struct OrderTotals: Sendable, Equatable {
        var filledQuantity: Decimal
        /// Notional over quantity, to 16 decimals.
        var averagePrice: Decimal
        var fee: Decimal
    }

    /// The order's filled quantity, average price and fees, summed from its fills.
    static func orderTotals(_ fills: [StoredFill]) -> OrderTotals {
        var quantity = Decimal(0), notional = Decimal(0), fee = Decimal(0)
        for fill in fills {
            quantity += fill.quantity
            notional += fill.cost ?? fill.quantity * fill.price
            fee += fill.fee
        }
        let average = quantity == 0 ? Decimal(0) : (notional / quantity).rounded(16, .plain)
        return OrderTotals(filledQuantity: quantity, averagePrice: average, fee: fee)
    }

    /// The `cost` column of a new fill: nil when it is exactly `quantity × price`.
    static func storedCost(_ fill: Fill) -> Decimal? {
        fill.cost == fill.quantity * fill.price ? nil : fill.cost
    }

    /// The strategy's open trade row in the fill's mode (missing numbers read as 0).
    struct OpenTrade: Sendable, Equatable {
        var id: Int64
        var quantity: Decimal
        var entryPrice: Decimal
        var entryFee: Decimal
        var exitQuantity: Decimal
        var exitPrice: Decimal
        var exitFee: Decimal
        var realizedPnL: Decimal
    }

    /// What to write to `trades`.
    enum TradeChange: Sendable, Equatable {
        /// Nothing (a sell the ledger did not close anything with).
        case none
        /// A buy with no open trade opens one.
        case open(quantity: Decimal, entryPrice: Decimal, entryFee: Decimal)
        /// A buy adds to the open trade: its new quantity, average entry price and entry fees.
        case addEntry(id: Int64, quantity: Decimal, entryPrice: Decimal, entryFee: Decimal)
        /// A sell with no open trade (an exchange fill the ledger had to book anyway): a row
        /// holding only that piece, closed unless a position remains.
        case exitOnly(closed: Bool, quantity: Decimal, entryPrice: Decimal, exitPrice: Decimal, exitFee: Decimal, realizedPnL: Decimal, reason: String)
        /// A sell adds its piece to the open trade; the one that empties the position closes it.
        case addExit(id: Int64, closed: Bool, exitQuantity: Decimal, exitPrice: Decimal, exitFee: Decimal, realizedPnL: Decimal, reason: String)
    }

    /// The strategy's open trade in the fill's mode: a buy opens it or adds to it (quantity,
    /// average entry price, entry fees); each sell adds its piece (exit quantity, average exit
    /// price, exit fees, net P&L); the sell that empties the position (`position` nil) closes it.
    static func tradeChange(open: OpenTrade?, fill: LedgerFill, position: Position?, closedTrade: ClosedTrade?) -> TradeChange {
        let piece = fill.fill
        if fill.side == .buy {
            guard let open else {
                return .open(quantity: piece.quantity, entryPrice: (piece.cost / piece.quantity).rounded(16, .plain), entryFee: piece.fee)
            }
            let total = open.quantity + piece.quantity
            return .addEntry(
                id: open.id, quantity: total, entryPrice: ((open.entryPrice * open.quantity + piece.cost) / total).rounded(16, .plain),
                entryFee: open.entryFee + piece.fee)
        }
        guard let closedTrade else { return .none }
        guard let open else {
            return .exitOnly(
                closed: position == nil, quantity: piece.quantity, entryPrice: closedTrade.entryPrice.rounded(16, .plain),
                exitPrice: piece.price, exitFee: piece.fee, realizedPnL: closedTrade.netPnL, reason: closedTrade.exitReason)
        }
        let sold = open.exitQuantity + piece.quantity
        return .addExit(
            id: open.id, closed: position == nil, exitQuantity: sold,
            exitPrice: ((open.exitPrice * open.exitQuantity + piece.cost) / sold).rounded(16, .plain), exitFee: open.exitFee + piece.fee,
            realizedPnL: open.realizedPnL + closedTrade.netPnL, reason: closedTrade.exitReason)
    }
}
