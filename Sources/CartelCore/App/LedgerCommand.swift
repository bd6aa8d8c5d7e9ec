import ArgumentParser
import Foundation

/// `trading-engine ledger adopt-balances`: when the validate or live ledger and the Kraken
/// account disagree because money or coins moved outside the engine (a deposit, a withdrawal, a
/// trade by hand), records the differences as adjustments — quote-currency ones as deposits
/// (+) or withdrawals (−) of capital, others as changes of the trader's own holdings — so that
/// the ledger agrees with Kraken again and entries resume. Prints what it would record; writes
/// only with `--yes`. Refuses while the engine runs (its ledger is in memory) or while orders
/// are in flight (their fills move the balances before they are booked).
public struct LedgerAdoptOptions: ParsableArguments {
    @Flag(help: "Record the adjustments (without it, only print them).")
    public var yes = false

    public init() {}

    public struct Adoption: Sendable, Equatable {
        public var differences: [BalanceDifference]
        public var recorded: Bool

        public init(differences: [BalanceDifference], recorded: Bool) {
            self.differences = differences
            self.recorded = recorded
        }
    }

    public func run(settings: Settings = .environment()) async throws {
        let config: TradingApp.Configuration
        do {
            config = try TradingApp.Configuration(settings: settings)
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
        guard config.trading.mode != .paper else {
            throw ValidationError("TRADING_MODE=paper: the paper ledger has no exchange account to adopt balances from")
        }
        let yes = yes
        let adoption = try await DatabaseCommands.withLedgerLock(config.service.database) { storage in
            guard let pairs = try await TradingApp.pairDirectory(config: config, storage: storage, logger: .init(label: "ledger")) else {
                throw ValidationError("Kraken's asset pairs are not stored and Kraken is unreachable")
            }
            let client = try KrakenClient(
                configuration: config.kraken, clock: SystemTime(), logger: .init(label: "ledger"), nonceStore: storage)
            let broker = KrakenBroker(mode: config.trading.mode, client: client, pairs: pairs)
            return try await Self.adopt(mode: config.trading.mode, storage: storage, broker: broker, instruments: pairs, record: yes, at: Date())
        }
        if adoption.differences.isEmpty {
            print("the \(config.trading.mode.rawValue) ledger agrees with Kraken's balances: nothing to adopt")
            return
        }
        for difference in adoption.differences {
            print("\(difference.asset): ledger \(difference.expected), Kraken \(difference.actual), adjustment \(difference.actual - difference.expected)")
        }
        print(adoption.recorded ? "recorded: the ledger now agrees with Kraken; start the engine" : "nothing written: run again with --yes to record")
    }

    /// Compares the mode's ledger (rebuilt from storage) with the broker's balances exactly and,
    /// when `record` is set, stores every difference as an adjustment.
    public static func adopt(
        mode: TradingMode, storage: any LedgerStorage, broker: any Broker, instruments: any InstrumentDirectory, record: Bool, at time: Date
    ) async throws -> Adoption {
        guard let account = try await storage.ledgerAccount(mode: mode) else {
            throw ValidationError("the \(mode.rawValue) ledger has not been opened yet: the engine opens it from Kraken's balances at its first start")
        }
        let unfinished = try await storage.unfinishedOrders(mode: mode)
        guard unfinished.isEmpty else {
            throw ValidationError(
                "\(unfinished.count) order(s) in flight (\(unfinished.map(\.clientOrderID).joined(separator: ", "))): let the engine settle them first")
        }
        let (ledger, _) = try await LedgerReplay.rebuild(mode: mode, account: account, storage: storage)
        // Kraken's balances trail its fills: adopting right after one would record the lag.
        let fills = try await storage.ledgerFills(mode: mode, after: account.afterFillID)
        if let newest = fills.last?.fill.time, time.timeIntervalSince(newest) < TradingEngine.bookingSettleTime {
            throw ValidationError("a fill was booked less than \(Int(TradingEngine.bookingSettleTime)) s ago; Kraken's balances may not show it yet: try again in a minute")
        }
        // An order given up as never placed that Kraken does have must be booked, not adopted:
        // it goes back to `unknown`, and the engine finds and books it at its next start.
        var reopened: [String] = []
        for order in try await storage.abandonedOrders(mode: mode, since: account.lastAdjustedAt ?? account.createdAt) {
            guard let found = try await broker.find(order) else { continue }
            if record {
                try await storage.updateOrder(
                    id: order.id, status: .unknown, exchangeOrderID: nil, error: "Kraken has it after all (\(found.exchangeOrderID))", at: time)
            }
            reopened.append("\(order.clientOrderID) (\(found.exchangeOrderID))")
        }
        guard reopened.isEmpty else {
            throw ValidationError(
                "Kraken has order(s) the engine gave up as never placed: \(reopened.joined(separator: ", ")). "
                    + (record ? "They are open again: start the engine to book them, then adopt again if the balances still differ"
                        : "Run with --yes to reopen them for the engine to book; nothing is adopted before that"))
        }
        guard let balances = try await broker.balances() else { throw ValidationError("the \(mode.rawValue) broker has no balances") }
        let pairs = Set(ledger.positions.values.map(\.pair)).union(try await storage.strategies().filter(\.enabled).map(\.pair))
        let traded = await BalanceCheck.instruments(pairs: pairs, quote: account.quoteAsset, directory: instruments)
        let differences = BalanceCheck.differences(ledger: ledger, account: account, balances: balances, instruments: traded, cashTolerance: 0)
        // Less of a coin than the engine's positions hold: the engine's coins went, not the trader's.
        for difference in differences where difference.asset != account.quoteAsset {
            let own = (account.holdings[difference.asset] ?? 0) + difference.actual - difference.expected
            if own < 0 {
                throw ValidationError(
                    "Kraken holds \(difference.actual) \(difference.asset), less than the engine's open positions in it: they were sold outside the engine. "
                        + "Adopting would leave positions the account does not have; close them by hand in the database or restore the coins")
            }
        }
        if record, !differences.isEmpty {
            try await storage.recordAdjustments(differences.map {
                LedgerAdjustment(
                    mode: mode, asset: $0.asset, amount: $0.actual - $0.expected, note: "adopted from Kraken's balances by hand", createdAt: time)
            })
        }
        return Adoption(differences: differences, recorded: record && !differences.isEmpty)
    }
}
