import Foundation
import TestSupport

/// `fake-kraken PORT [CANDLES]`: serves the fake Kraken on 127.0.0.1:PORT for soak runs and
/// benchmarks, with a BTC/USD and ETH/USD 1-minute series that grows by one candle a minute.
@main
struct FakeKrakenMain {
    static func main() async throws {
        try await serve(port: CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0)
    }

    nonisolated static func serve(port: Int) async throws {
        let fake = FakeKraken()
        try await withFakeKraken(fake, port: port) { fake, url in
            print("fake Kraken listening on \(url)")
            while true {
                let now = Int(Date().timeIntervalSince1970) / 60 * 60
                let rows = (0..<720).map { FakeCandle(time: now - (719 - $0) * 60, close: "30000.\($0 % 100)") }
                for key in ["XXBTZUSD", "XETHZUSD"] {
                    for interval in [1, 15, 60] { await fake.setCandles(pairKey: key, interval: interval, rows) }
                }
                try await Task.sleep(for: .seconds(10))
            }
        }
    }
}
