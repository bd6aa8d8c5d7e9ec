import Foundation

/// One asset on which the ledger and the exchange account disagree.
public struct BalanceDifference: Sendable, Equatable, CustomStringConvertible {
    public var asset: String
    /// What the ledger says the account holds (for a base asset: the trader's holdings at the
    /// start plus the engine's positions).
    public var expected: Decimal
    public var actual: Decimal

    public init(asset: String, expected: Decimal, actual: Decimal) {
        self.asset = asset
        self.expected = expected
        self.actual = actual
    }

    public var description: String { "\(asset): ledger \(expected), Kraken \(actual)" }
}

/// Compares a live ledger with the exchange's balances. Pure: the engine calls it with what
/// Kraken's `Balance` answered.
public enum BalanceCheck {
    /// The instruments whose assets a ledger in `quote` accounts for: the pairs it trades that
    /// are quoted in its cash currency (others cannot be entered). The engine's check and
    /// `ledger adopt-balances` compare the same assets.
    public static func instruments(pairs: Set<String>, quote: String, directory: (any InstrumentDirectory)?) async -> [Instrument] {
        var found: [Instrument] = []
        for pair in pairs.sorted() {
            if let instrument = await directory?.instrument(for: pair), instrument.quoteAsset == quote { found.append(instrument) }
        }
        return found
    }

    /// The quote asset against the ledger's cash (within `cashTolerance`: Kraken keeps quote
    /// balances to fewer decimals than fills and fees), and each base asset of `instruments`
    /// against the holdings at the start plus the positions in it (within half a lot step).
    public static func differences(
        ledger: PortfolioLedger, account: LedgerAccount, balances: [String: Decimal], instruments: [Instrument], cashTolerance: Decimal
    ) -> [BalanceDifference] {
        var found: [BalanceDifference] = []
        let cash = balances[account.quoteAsset] ?? 0
        if abs(cash - ledger.cash) > cashTolerance {
            found.append(BalanceDifference(asset: account.quoteAsset, expected: ledger.cash, actual: cash))
        }
        var checked: Set<String> = []
        for instrument in instruments.sorted(by: { $0.baseAsset < $1.baseAsset }) where checked.insert(instrument.baseAsset).inserted {
            let held = ledger.positions.values.filter { position in
                instruments.first { $0.pair == position.pair }?.baseAsset == instrument.baseAsset
            }.reduce(Decimal(0)) { $0 + $1.quantity }
            let expected = (account.holdings[instrument.baseAsset] ?? 0) + held
            let actual = balances[instrument.baseAsset] ?? 0
            if abs(actual - expected) * 2 > instrument.lot.quantityStep {
                found.append(BalanceDifference(asset: instrument.baseAsset, expected: expected, actual: actual))
            }
        }
        return found
    }
}

/// Rebuilds a mode's ledger from storage: its account's capital, then every fill of the mode
/// stored after the account was opened, booked as it happened. Returns the ledger and, for each
/// fill a spot account could not have made, why.
public enum LedgerReplay {
    public static func rebuild(
        mode: TradingMode, account: LedgerAccount, storage: any LedgerStorage
    ) async throws -> (ledger: PortfolioLedger, anomalies: [String]) {
        var ledger = PortfolioLedger(startingBalance: account.startingBalance)
        var anomalies: [String] = []
        // Deposits and withdrawals adopted by hand enter where they were adopted: after the
        // fills that had been stored then.
        var deposits = account.deposits.sorted { $0.afterFillID < $1.afterFillID }[...]
        for stored in try await storage.ledgerFills(mode: mode, after: account.afterFillID) {
            while let next = deposits.first, next.afterFillID < stored.id {
                ledger.deposit(next.amount)
                deposits.removeFirst()
            }
            let (_, anomaly) = ledger.record(
                stored.fill, side: stored.side, strategyKey: String(stored.strategyID), pair: stored.pair, reason: stored.reason)
            if let anomaly { anomalies.append("order \(stored.orderID): \(anomaly)") }
        }
        for deposit in deposits { ledger.deposit(deposit.amount) }
        return (ledger, anomalies)
    }
}
