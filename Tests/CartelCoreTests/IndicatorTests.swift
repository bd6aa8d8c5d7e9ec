import CartelCore
import Foundation
import TestSupport
import Testing

/// Indicator values against hand-computed references. `closes` are the 33 closes of
/// StockCharts' RSI worked example; the expected values were computed by hand (a short script
/// applying each TA-Lib definition in plain double arithmetic).
@Suite struct IndicatorTests {
    static let closes = [
        44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28,
        46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57,
        43.42, 42.66, 43.13,
    ]

    func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test func smaWaitsForAFullWindow() {
        var sma = SMA(period: 3)
        let values = [1.0, 2, 3, 4, 5].map { sma.update($0) }
        #expect(values == [nil, nil, 2, 3, 4])
    }

    @Test func emaIsSeededWithTheSMAOfTheFirstPeriod() {
        var ema = EMA(period: 3)
        let values = [1.0, 2, 3, 4, 5, 10].map { ema.update($0) }
        #expect(values == [nil, nil, 2, 3, 4, 7])  // k = 0.5
    }

    @Test func rsiUsesWilderSmoothing() {
        var rsi = RSI(period: 14)
        let values = Self.closes.prefix(20).map { rsi.update($0) }
        #expect(values.prefix(14).allSatisfy { $0 == nil })
        let expected = [70.464135, 66.249619, 66.480942, 69.346853, 66.294713, 57.915021]
        for (value, reference) in zip(values.dropFirst(14), expected) {
            #expect(close(value, reference, 1e-5), "\(String(describing: value)) vs \(reference)")
        }
    }

    @Test func rsiOfAFlatSeriesIsNeutralAndOfARisingOneIsHundred() {
        var flat = RSI(period: 3)
        #expect([5.0, 5, 5, 5].map { flat.update($0) }.last == 50)
        var rising = RSI(period: 3)
        #expect([1.0, 2, 3, 4].map { rising.update($0) }.last == 100)
    }

    @Test func macdAlignsTheEMAsLikeTALibAndWaitsForTheSignal() {
        var macd = MACD(fast: 3, slow: 6, signal: 4)
        let values = Self.closes.map { macd.update($0) }
        #expect(values.prefix(8).allSatisfy { $0 == nil })  // first output with input slow + signal − 1 = 9
        #expect(values.compactMap { $0 }.count == 25)
        let first = values[8]
        #expect(close(first?.line, 0.3867261905, 1e-9))
        #expect(close(first?.signal, 0.2314732143, 1e-9))
        #expect(close(first?.histogram, 0.1552529762, 1e-9))
        let last = values.last!
        #expect(close(last?.line, -0.4377327039, 1e-9))
        #expect(close(last?.signal, -0.4352105784, 1e-9))
    }

    @Test func bollingerUsesThePopulationStandardDeviation() {
        var bands = BollingerBands(period: 5, width: 2)
        let last = Self.closes.map { bands.update($0) }.last!
        #expect(close(last?.lower, 42.1965186143, 1e-8))
        #expect(close(last?.middle, 43.6, 1e-9))
        #expect(close(last?.upper, 45.0034813857, 1e-8))
        var constant = BollingerBands(period: 3, width: 2)
        let flat = [7.0, 7, 7].map { constant.update($0) }.last!
        #expect(flat?.lower == 7 && flat?.middle == 7 && flat?.upper == 7)
    }

    @Test func atrStartsWithTheMeanTrueRangeThenSmoothsLikeWilder() {
        var atr = ATR(period: 3)
        let values = Self.closes.map { atr.update(high: $0 + 0.5, low: $0 - 0.4, close: $0) }
        #expect(values.prefix(3).allSatisfy { $0 == nil })
        #expect(values.compactMap { $0 }.count == 30)
        #expect(close(values[3], 0.9133333333, 1e-9))
        #expect(close(values.last!, 1.1074107811, 1e-9))
    }

    @Test func volumeAverageIsTheMeanOfTheWindow() {
        var average = VolumeAverage(period: 2)
        #expect([1.0, 3, 5].map { average.update(volume: $0) } == [nil, 2, 4])
    }
}

@Suite struct IndicatorCommandTests {
    @Test func specsParseAndBadOnesAreRejected() throws {
        #expect(try IndicatorSpec.parse("rsi:14") == .rsi(14))
        #expect(try IndicatorSpec.parse("MACD:12,26,9") == .macd(fast: 12, slow: 26, signal: 9))
        #expect(try IndicatorSpec.parse("bollinger:20,2.5") == .bollinger(period: 20, width: 2.5))
        #expect(try IndicatorSpec.parse("bollinger:20").columns == ["bb_lower_20_2", "bb_middle_20_2", "bb_upper_20_2"])
        for bad in ["rsi:0", "rsi:x", "macd:26,12,9", "bollinger:20,-1", "stoch:14"] {
            #expect(throws: IndicatorSpec.ParseError.self) { try IndicatorSpec.parse(bad) }
        }
    }

    @Test func theIndicatorsCommandPrintsTheTimeColumnAndEmptyCellsUntilWarm() async throws {
        let dir = try TemporaryDirectory(prefix: "indicators")
        defer { dir.remove() }
        let rows = IndicatorTests.closes.enumerated().map { "\(1_704_067_200 + $0.offset * 60),\($0.element),\($0.element + 0.5),\($0.element - 0.4),\($0.element),1" }
        try (["Time,Open,High,Low,Close,Volume"] + rows).joined(separator: "\n")
            .write(toFile: dir.file("in.csv"), atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["indicators", "--csv", dir.file("in.csv"), "--indicator", "rsi:14", "--indicator", "macd:3,6,4"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 34)
        #expect(lines[0] == "time,rsi_14,macd_3_6_4,macd_signal_3_6_4,macd_hist_3_6_4")
        #expect(lines[1] == "1704067200,,,,")
        let rsi = lines[15].split(separator: ",", omittingEmptySubsequences: false)
        #expect(rsi[0] == "1704068040")
        #expect(abs((Double(rsi[1]) ?? 0) - 70.464135) < 1e-5)
        let bad = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"), ["indicators", "--csv", dir.file("in.csv"), "--indicator", "stoch"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("unknown indicator 'stoch'"))
    }
}
