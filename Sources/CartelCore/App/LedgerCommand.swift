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
        let storage = try SQLiteStorage(location: config.service.database)
        let lock: ProcessLock
        do {
            lock = try storage.lockTradingEngine()
        } catch {
            throw ValidationError("\(error) — the engine keeps its ledger in memory: stop it, adopt, start it again")
        }
        defer { withExtendedLifetime(lock) {} }
        guard let pairs = try await TradingApp.pairDirectory(config: config, storage: storage, logger: .init(label: "ledger")) else {
            throw ValidationError("Kraken's asset pairs are not stored and Kraken is unreachable")
        }
        let client = try KrakenClient(configuration: config.kraken, clock: SystemTime(), logger: .init(label: "ledger"), nonceStore: storage)
        let broker = KrakenBroker(mode: config.trading.mode, client: client, pairs: pairs)
        let adoption = try await Self.adopt(
            mode: config.trading.mode, storage: storage, broker: broker, instruments: pairs, record: yes, at: Date())
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
        guard let balances = try await broker.balances() else { throw ValidationError("the \(mode.rawValue) broker has no balances") }
        let (ledger, _) = try await LedgerReplay.rebuild(mode: mode, account: account, storage: storage)
        var traded: [Instrument] = []
        let pairs = Set(ledger.positions.values.map(\.pair)).union(try await storage.strategies().filter(\.enabled).map(\.pair))
        for pair in pairs.sorted() {
            if let instrument = await instruments.instrument(for: pair), instrument.quoteAsset == account.quoteAsset { traded.append(instrument) }
        }
        let differences = BalanceCheck.differences(ledger: ledger, account: account, balances: balances, instruments: traded, cashTolerance: 0)
        if record, !differences.isEmpty {
            try await storage.recordAdjustments(differences.map {
                LedgerAdjustment(
                    mode: mode, asset: $0.asset, amount: $0.actual - $0.expected, note: "adopted from Kraken's balances by hand", createdAt: time)
            })
        }
        return Adoption(differences: differences, recorded: record && !differences.isEmpty)
    }
}
