import ArgumentParser
import Foundation

/// Options and work of `trading-engine stats`: each strategy's performance from the ledger the
/// running engine keeps (closed trades in the database).
public struct StatsOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    public var json = false

    public init() {}

    public struct Row: Encodable {
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
        let path = service.database.absolutePath()
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no database at \(path) yet") }
        let rows = try await Self.rows(storage: try SQLiteStorage(location: service.database), startingBalance: trading.startingBalance)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        guard !rows.isEmpty else {
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

    public static func rows(storage: any LedgerStorage, startingBalance: Decimal) async throws -> [Row] {
        let trades = try await storage.closedTrades()
        return try await storage.strategies().map { record in
            Row(
                strategy: record.name, kind: record.kind, pair: record.pair, intervalMinutes: record.intervalMinutes, enabled: record.enabled,
                stats: PerformanceStats(closedTrades: trades.filter { $0.strategyID == record.id }.map(\.trade), startingBalance: startingBalance))
        }
    }
}
