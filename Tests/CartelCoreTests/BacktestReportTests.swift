@testable import CartelCore
import Foundation
import TestSupport
import Testing

/// The figures beside the ledger (drawdown duration, exposure, Sortino, buy and hold, CAGR)
/// and the files `backtest` writes: the HTML report and the trades CSV.
@Suite struct BacktestReportTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func theTrackMeasuresDrawdownDurationExposureAndDownside() {
        var track = BacktestTrack(candles: 7)
        let equities: [Double] = [100, 110, 99, 105, 111, 90, 95]
        for (index, equity) in equities.enumerated() {
            track.record(equity: equity, time: Self.t0.addingTimeInterval(Double(index) * 3_600), invested: index % 2 == 1)
        }
        track.finish(first: StrategyCandle(time: Self.t0, open: 50, high: 50, low: 50, close: 50, volume: 1),
                     last: StrategyCandle(time: Self.t0, open: 60, high: 60, low: 60, close: 75, volume: 1))
        // Under the 110 peak from hour 1 until hour 4 (111): 3 h; under 111 from hour 4 to the
        // end (hour 6): 2 h.
        #expect(track.longestDrawdown == 3 * 3_600)
        #expect(track.investedCandles == 3 && track.candles == 7)
        #expect(track.peak == 111)
        #expect(track.points.map(\.equity) == equities)
        #expect(track.points.map(\.drawdown)[5] == (111.0 - 90) / 111)
        let downs = [99.0 / 110 - 1, 90.0 / 111 - 1]
        #expect(abs(track.downsideSquares - downs.reduce(0) { $0 + $1 * $1 }) < 1e-15)
        #expect(track.firstOpen == 50 && track.lastClose == 75)
    }

    @Test func aLongRunKeepsAboutTwoThousandPointsAndTheirTroughs() {
        var track = BacktestTrack(candles: 100_000)
        for index in 0..<100_000 {
            // One sharp dip at candle 50,001 that a plain sample every 50 candles would miss.
            let equity = index == 50_001 ? 500.0 : 1_000.0 + Double(index) * 0.01
            track.record(equity: equity, time: Self.t0.addingTimeInterval(Double(index) * 60), invested: false)
        }
        track.finish(first: nil, last: nil)
        #expect(track.points.count >= 2_000 && track.points.count <= 2_002)
        #expect(track.points.map(\.low).min() == 500)
        #expect(track.points.last?.time == Self.t0.addingTimeInterval(99_999 * 60))
    }

    @Test func aSampledPointsDrawdownIsAgainstThePeakAtItsTime() {
        // 4,000 candles: a point every 2. Equity 100, 80, 130: the drawdown is 20% (80 under
        // 100), not 38% (80 under the later 130).
        var track = BacktestTrack(candles: 4_000)
        for (index, equity) in [100.0, 80, 130, 130].enumerated() {
            track.record(equity: equity, time: Self.t0.addingTimeInterval(Double(index) * 60), invested: false)
        }
        track.finish(first: nil, last: nil)
        #expect(track.points.map(\.drawdown).max() == 0.2)
    }

    @Test func aReturnTooLargeToCompoundLeavesCAGROutRatherThanInfinite() throws {
        // Equity × 1000 in a day and a minute: CAGR overflows a double.
        let candles = (0..<1_442).map { index in
            StrategyCandle(time: Self.t0.addingTimeInterval(Double(index) * 60), open: 1, high: 1, low: 1, close: 1, volume: 1)
        }
        var result = try Backtester.run(
            kind: "sma-cross", parameters: [:], candles: candles,
            configuration: BacktestConfiguration(strategyKey: "sma-cross", pair: "X/Y", intervalMinutes: 1))
        result.stats.finalEquity = result.stats.startingBalance * 1_000
        let summary = BacktestSummary(result, intervalMinutes: 1)
        #expect(summary.cagrPercent == nil && summary.calmar == nil)
        #expect(summary.totalReturnPercent == 99_900)
        _ = try JSONEncoder().encode(summary)
    }

    @Test func theSummaryAgreesWithTheLedgerAndTheCandles() throws {
        let candles = OptimizerTests.candles(24 * 400)
        let configuration = BacktestConfiguration(strategyKey: "sma-cross", pair: "TEST/USD", intervalMinutes: 60)
        let result = try Backtester.run(kind: "sma-cross", parameters: ["fast": 5, "slow": 20], candles: candles, configuration: configuration)
        let summary = BacktestSummary(result, intervalMinutes: 60)
        let start = result.stats.startingBalance.doubleValue, final = result.stats.finalEquity.doubleValue
        #expect(abs(summary.totalReturnPercent - (final / start - 1) * 100) < 1e-9)
        #expect(abs(summary.buyAndHoldReturnPercent! - (candles.last!.close / candles.first!.open - 1) * 100) < 1e-9)
        // 400 days: CAGR compounds the total return over 400/365.25 years.
        let years = 400.0 / 365.25
        #expect(abs(summary.cagrPercent! - (pow(final / start, 1 / years) - 1) * 100) < 1e-9)
        #expect(abs(summary.calmar! - summary.cagrPercent! / summary.maxDrawdownPercent) < 1e-12)
        #expect(summary.exposurePercent > 0 && summary.exposurePercent < 100)
        #expect(summary.expectancy == (result.stats.totalPnL / Decimal(result.trades.count)).rounded(8, .plain))
        #expect(summary.maxDrawdownDurationSeconds > 0)
        #expect(summary.bestTradePercent! >= summary.worstTradePercent!)
        #expect(summary.start == candles.first?.time && summary.end == candles.last?.time)
    }

    @Test func backtestWritesASelfContainedHTMLReportAndTheTradesAsCSV() async throws {
        let dir = try TemporaryDirectory(prefix: "report")
        defer { dir.remove() }
        let rows = OptimizerTests.candles(2_000).map {
            "\(Int($0.time.timeIntervalSince1970)),\($0.open),\($0.high),\($0.low),\($0.close),\($0.volume)"
        }
        try (["time,open,high,low,close,volume"] + rows).joined(separator: "\n").write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("c.csv"), "--pair", "<script>alert(1)</script>", "--strategy", "sma-cross",
             "--param", "fast=5", "--param", "slow=20", "--html", dir.file("r.html"), "--trades-csv", dir.file("t.csv"), "--json"],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let trades = try #require(report["trades"] as? [[String: Any]])
        let summary = try #require(report["summary"] as? [String: Any])
        #expect(!trades.isEmpty)

        let html = try String(contentsOfFile: dir.file("r.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("<script"), "the pair label must be escaped and the page has no script")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        for external in ["src=", "href=\"http", "url(http", "@import"] { #expect(!html.contains(external), "\(external)") }
        // Three charts (equity, drawdown, price) and every trade in the table.
        #expect(html.components(separatedBy: "<svg").count - 1 >= 3)
        #expect(html.components(separatedBy: "<tr><td class=\"num\">").count - 1 == trades.count)
        #expect(html.components(separatedBy: "class=\"mk buy\"").count - 1 == trades.count)
        for label in ["Total return", "Buy and hold", "CAGR", "Sharpe", "Sortino", "Calmar", "Max drawdown", "Max drawdown duration",
                      "Win rate", "Profit factor", "Expectancy per trade", "Exposure"] {
            #expect(html.contains("<span class=\"label\">\(label)</span>"), "\(label)")
        }
        let totalReturn = try #require(summary["totalReturnPercent"] as? Double)
        #expect(html.contains(">\(NumberText.hundredths(totalReturn))%</span><span class=\"label\">Total return"))

        let csv = try String(contentsOfFile: dir.file("t.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "entry_time,exit_time,entry_price,exit_price,quantity,fees,pnl,exit_reason")
        #expect(csv.count == trades.count + 1)
        let first = csv[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(String(first[0]) == trades[0]["entryTime"] as? String)
        #expect(Decimal(string: String(first[6])) == (trades[0]["pnl"] as? NSNumber).map { $0.decimalValue })

        let unwritable = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("c.csv"), "--strategy", "sma-cross", "--html", dir.file("missing/dir/r.html")],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(unwritable.status != 0)
        #expect(unwritable.stderr.contains("cannot write \(dir.file("missing/dir/r.html"))"))
    }
}
