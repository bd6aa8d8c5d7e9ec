import ArgumentParser
import Foundation

/// Options and work of `trading-engine stats`: each strategy's performance from the ledger the
/// running engine keeps (closed trades in the database), and the account's in total.
///
/// A strategy is measured on its own capital: the most it had in one trade (cost and entry
/// fee), so its drawdown is what it lost of what it put at risk. The total is measured on the
/// account's starting balance.
public struct StatsOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    public var json = false

    @Option(help: "The ledger to report: paper, validate or live (default: TRADING_MODE).")
    public var mode: TradingMode?

    public init() {}

    public struct Row: Encodable, Sendable {
        public var strategy: String
        public var kind: String
        public var pair: String
        public var intervalMinutes: Int
        public var enabled: Bool
        public var stats: PerformanceStats
    }

    public func run(settings: Settings = .environment()) async throws {
        let service: ServiceConfiguration
        let trading: TradingConfiguration
        do {
            service = try ServiceConfiguration(service: .tradingEngine, settings: settings)
            trading = try TradingConfiguration(settings: settings)
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
        if let path = service.database.sqlitePath(), !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no database at \(path) yet")
        }
        let mode = mode ?? trading.mode
        let rows = try await DatabaseCommands.withStorage(service.database) { storage in
            let account = try await storage.ledgerAccount(mode: mode)?.capital ?? trading.startingBalance
            return try await Self.rows(storage: storage, mode: mode, startingBalance: account)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        guard rows.count > 1 else {
            print("no strategies in the database")
            return
        }
        for row in rows {
            let s = row.stats
            print("""
                \(row.strategy)\(row.enabled ? "" : " (disabled)"): trades \(s.trades), win rate \(s.winRatePercent.map { NumberText.hundredths($0) + "%" } ?? "-"), \
                P&L \(s.totalPnL.rounded(2, .plain)), fees \(s.fees.rounded(2, .plain)), average win \(s.averageWin.map { "\($0.rounded(2, .plain))" } ?? "-"), \
                average loss \(s.averageLoss.map { "\($0.rounded(2, .plain))" } ?? "-"), profit factor \(s.profitFactor.map(NumberText.hundredths) ?? "-"), \
                max drawdown \(NumberText.hundredths(s.maxDrawdownPercent))%, Sharpe \(s.sharpe.map(NumberText.hundredths) ?? "-")
                """)
        }
    }

    /// One row per strategy (measured on its own capital), then `total` (the account).
    public static func rows(storage: any LedgerStorage, mode: TradingMode = .paper, startingBalance: Decimal) async throws -> [Row] {
        let trades = try await storage.closedTrades(mode: mode)
        var rows = try await storage.strategies().map { record in
            let own = trades.filter { $0.strategyID == record.id }.map(\.trade)
            return Row(
                strategy: record.name, kind: record.kind, pair: record.pair, intervalMinutes: record.intervalMinutes, enabled: record.enabled,
                stats: PerformanceStats(closedTrades: own, startingBalance: PerformanceStats.capitalUsed(by: own)))
        }
        rows.append(Row(
            strategy: "total", kind: "", pair: "", intervalMinutes: 0, enabled: true,
            stats: PerformanceStats(closedTrades: trades.map(\.trade), startingBalance: startingBalance)))
        return rows
    }
}

extension TradingMode: ExpressibleByArgument {}
