import Foundation
import TestSupport

/// `fake-kraken PORT`: serves the fake Kraken on 127.0.0.1:PORT for soak runs and benchmarks.
/// OHLC for BTC/USD and ETH/BTC at 1, 15 and 60 minutes follows the wall clock: a new candle
/// appears the moment its interval starts, and closes zigzag (up one candle, down the next), so
/// a 2/3 SMA cross signals on every candle.
@main
struct FakeKrakenMain {
    static func main() async throws {
        try await serve(port: CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0)
    }

    nonisolated static func serve(port: Int) async throws {
        let fake = FakeKraken()
        try await withFakeKraken(fake, port: port) { fake, url in
            for interval in [1, 15, 60] {
                await fake.setLiveCandles(pairKey: "XXBTZUSD", interval: interval) { $0 % 2 == 0 ? "30000.0" : "30100.0" }
                await fake.setLiveCandles(pairKey: "XETHXXBT", interval: interval) { $0 % 2 == 0 ? "0.05000" : "0.05050" }
            }
            print("fake Kraken listening on \(url)")
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
