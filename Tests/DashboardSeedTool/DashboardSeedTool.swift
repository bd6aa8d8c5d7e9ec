import CartelCore
import Foundation
import TestSupport

/// `cartel-dashboard-seed PATH CYCLES`: fills a database for the website benchmark the way the
/// services would (candles, tickers, the paper engine trading them; see ``DashboardSeed``), plus
/// 2,000 one-minute BTC/USD candles, and prints what it stored.
@main
struct DashboardSeedTool {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let cycles = Int(arguments[2]), cycles > 0 else {
            FileHandle.standardError.write(Data("usage: cartel-dashboard-seed PATH CYCLES\n".utf8))
            exit(2)
        }
        do {
            let storage = try SQLiteStorage(path: arguments[1])
            let summary = try await DashboardSeed.seed(storage, cycles: cycles, heartbeats: false)
            let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 2000 * 60)
            var price: Decimal = 60_000
            var minutes: [Candle] = []
            for index in 0..<2000 {
                let next = price + Decimal(index % 13) - 6
                minutes.append(Candle(
                    pair: "BTC/USD", intervalMinutes: 1, openTime: start.addingTimeInterval(Double(index * 60)), open: price,
                    high: max(price, next) + Decimal(string: "2.5")!, low: min(price, next) - Decimal(string: "1.25")!, close: next,
                    vwap: next, volume: Decimal(string: "0.\(1000 + index)")!, tradeCount: 7))
                price = next
            }
            try await storage.upsertCandles(minutes)
            print("seeded \(summary.trades) trades, \(summary.candles) hourly and 2000 one-minute candles")
        } catch {
            FileHandle.standardError.write(Data("seed failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
