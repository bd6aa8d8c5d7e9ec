import Foundation

/// What the collector collects: `TRADING_PAIRS`, `CANDLE_INTERVALS`, `TICKER_POLL_SECONDS`,
/// `RETENTION_DAYS`, and where it serves metrics (`MARKET_DATA_METRICS_HOST`/`_PORT`).
public struct MarketDataConfiguration: Sendable, Equatable {
    /// Kraken's OHLC intervals, in minutes.
    public static let krakenIntervals = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600]

    public var pairs: [String]
    public var intervals: [Int]
    public var tickerPollSeconds: Int
    public var retentionDays: Int
    public var metricsHost: String
    public var metricsPort: Int

    public init(
        pairs: [String] = ["BTC/USD", "ETH/USD"], intervals: [Int] = [1, 15, 60], tickerPollSeconds: Int = 10,
        retentionDays: Int = 7, metricsHost: String = "127.0.0.1", metricsPort: Int = 9092
    ) {
        self.pairs = pairs
        self.intervals = intervals
        self.tickerPollSeconds = tickerPollSeconds
        self.retentionDays = retentionDays
        self.metricsHost = metricsHost
        self.metricsPort = metricsPort
    }

    public init(settings: Settings, metricsPortKey: String = "MARKET_DATA_METRICS_PORT", defaultMetricsPort: Int = 9092) throws {
        let pairsText = settings.string("TRADING_PAIRS", default: "BTC/USD,ETH/USD")
        let pairs = pairsText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        guard !pairs.isEmpty, pairs.allSatisfy(Self.isPairName)
        else {
            throw ConfigurationError(key: "TRADING_PAIRS", value: pairsText, expected: "comma-separated BASE/QUOTE pairs such as BTC/USD,ETH/USD")
        }
        let intervalsText = settings.string("CANDLE_INTERVALS", default: "1,15,60")
        let intervals = intervalsText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !intervals.isEmpty, intervals.count == intervalsText.split(separator: ",").count,
            intervals.allSatisfy(Self.krakenIntervals.contains)
        else {
            throw ConfigurationError(
                key: "CANDLE_INTERVALS", value: intervalsText,
                expected: "comma-separated minutes from \(Self.krakenIntervals.map(String.init).joined(separator: ","))")
        }
        self.init(
            pairs: pairs.uniqued(), intervals: Array(Set(intervals)).sorted(),
            tickerPollSeconds: try settings.int("TICKER_POLL_SECONDS", default: 10, in: 1...3600),
            retentionDays: try settings.int("RETENTION_DAYS", default: 7, in: 1...3650),
            metricsHost: settings.string("METRICS_HOST", default: "127.0.0.1"),
            metricsPort: try settings.port(metricsPortKey, default: defaultMetricsPort))
    }
}

extension MarketDataConfiguration {
    /// Whether `name` reads as a `BASE/QUOTE` pair (`BTC/USD`).
    static func isPairName(_ name: String) -> Bool {
        name.split(separator: "/").count == 2 && !name.hasPrefix("/") && !name.hasSuffix("/")
    }
}

extension Array where Element: Hashable {
    /// The elements without repeats, first occurrences kept in order.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
