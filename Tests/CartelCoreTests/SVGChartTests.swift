import Foundation
import Testing

@testable import CartelCore

/// The server-side SVG charts: escaping, degenerate input, markers, size and determinism.
@Suite struct SVGChartTests {
    static let start = Date(timeIntervalSince1970: 1_795_651_200)  // 2026-11-26T00:00:00Z
    static let xss = "<script>alert(1)</script>"

    /// A deterministic random walk of hourly candles.
    static func candles(_ count: Int, from price: Double = 67_000) -> [ChartCandle] {
        var state: UInt64 = 42
        func random() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        var close = price
        return (0..<count).map { index in
            let open = close
            close = open * (1 + (random() - 0.5) * 0.01)
            return ChartCandle(
                time: start.addingTimeInterval(Double(index) * 3600), open: open, high: max(open, close) * 1.002,
                low: min(open, close) * 0.998, close: close, volume: 1 + random() * 10)
        }
    }

    static func points(_ values: [Double]) -> [ChartPoint] {
        values.enumerated().map { ChartPoint(time: start.addingTimeInterval(Double($0.offset) * 3600), value: $0.element) }
    }

    /// Every `attribute="…"` value of the elements whose opening tag contains `marker`.
    func attribute(_ attribute: String, ofElementsContaining marker: String, in svg: String) -> [String] {
        svg.components(separatedBy: "<").filter { $0.contains(marker) }.compactMap { tag in
            guard let range = tag.range(of: " \(attribute)=\"") else { return nil }
            return String(tag[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    /// Whether a non-finite number (`nan`, `inf`, `-inf`) leaked into the output.
    func leaksNonFinite(_ svg: String) -> Bool {
        svg.split(whereSeparator: { !$0.isLetter }).contains { ["nan", "NaN", "inf", "infinity"].contains($0) }
    }

    /// The y of the first point of a path's `d` ("M x y…").
    func firstY(_ d: String) -> Double? {
        let numbers = d.dropFirst().split(whereSeparator: { !"0123456789.-".contains($0) })
        return numbers.count >= 2 ? Double(numbers[1]) : nil
    }

    @Test func callerTextIsEscapedEverywhere() {
        let series = ChartSeries(name: "sma \(Self.xss)", values: Array(repeating: 67_000, count: 30), panel: .price)
        let marker = ChartMarker(time: Self.start.addingTimeInterval(3600 * 5), price: 67_000, isBuy: true, label: "buy \(Self.xss) & \"quoted\" 'x'")
        let svg = SVGChart.candles(Self.candles(30), overlays: [series], markers: [marker], title: "BTC/USD \(Self.xss)")
        #expect(!svg.contains("<script"))
        #expect(!svg.contains("alert(1)</"))
        #expect(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(svg.contains("aria-label=\"BTC/USD &lt;script&gt;"))
        #expect(svg.contains("&amp; &quot;quoted&quot; &#39;x&#39;"))
        let line = SVGChart.line(Self.points([1, 2, 3]), title: "equity \(Self.xss)")
        #expect(!line.contains("<script"))
        #expect(line.contains("equity &lt;script&gt;"))
    }

    @Test func outputIsOneSelfContainedSVGStyledOnlyByClasses() {
        let svg = SVGChart.candles(Self.candles(100), overlays: [], markers: [], title: "t")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 960 420\" width=\"100%\""))
        #expect(svg.contains("role=\"img\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.components(separatedBy: "<svg").count == 2)
        for forbidden in ["style=", "<script", "href", "url(", "fill=\"#", "stroke=\"", "<style"] {
            #expect(!svg.contains(forbidden), "\(forbidden)")
        }
    }

    @Test func emptyInputSaysNoDataYet() {
        for svg in [
            SVGChart.line([], title: "Equity"),
            SVGChart.candles([], overlays: [], markers: [], title: "BTC/USD"),
            SVGChart.line([ChartPoint(time: Self.start, value: .nan)], title: "NaN only"),
        ] {
            #expect(svg.hasPrefix("<svg"))
            #expect(svg.contains("no data yet"))
            #expect(!svg.contains("<path"))
        }
    }

    @Test func aSinglePointIsDrawnAsADotWithALabelledAxis() {
        let svg = SVGChart.line(Self.points([10_000]), title: "Equity")
        #expect(svg.contains("<circle class=\"dot single\""))
        #expect(!leaksNonFinite(svg))
        #expect(attribute("data-time", ofElementsContaining: "data-time=", in: svg) == ["2026-11-26T00:00:00Z"])
        #expect(svg.contains(">10000.00<"))
    }

    @Test func flatValuesGetANonZeroRange() {
        let svg = SVGChart.line(Self.points([500, 500, 500, 500]), title: "flat")
        #expect(svg.components(separatedBy: "<text class=\"y\"").count - 1 >= 3)
        #expect(svg.contains(">500.00<"))
        #expect(!leaksNonFinite(svg))
        let flatCandles = (0..<10).map {
            ChartCandle(time: Self.start.addingTimeInterval(Double($0) * 60), open: 1, high: 1, low: 1, close: 1, volume: 0)
        }
        let candles = SVGChart.candles(flatCandles, overlays: [], markers: [], title: "flat")
        #expect(candles.contains("class=\"body up\""))
        #expect(!leaksNonFinite(candles))
    }

    @Test func valueTicksAreFourOrFiveRoundNumbers() {
        let svg = SVGChart.line(Self.points([9_920, 10_050, 10_280, 10_110]), title: "Equity")
        let ticks = svg.components(separatedBy: "<text class=\"y\"").dropFirst().compactMap { $0.split(separator: ">").dropFirst().first }
            .map { String($0.prefix { $0 != "<" }) }
        #expect((4...5).contains(ticks.count), "\(ticks)")
        #expect(ticks.allSatisfy { $0.hasSuffix("00.00") }, "\(ticks)")
    }

    @Test func nonFiniteValuesAreSkipped() {
        let svg = SVGChart.line(Self.points([1, .nan, 2, .infinity, 3, -.infinity]), title: "gaps")
        #expect(!leaksNonFinite(svg))
        let line = attribute("d", ofElementsContaining: "class=\"line\"", in: svg)
        #expect(line.count == 1)
        let numbers = line.first?.split(whereSeparator: { !"0123456789.-".contains($0) }) ?? []
        #expect(numbers.count == 6, "three finite points: \(line)")

        var candles = Self.candles(20)
        candles[5].high = .nan
        candles[6].close = .infinity
        let overlay = ChartSeries(name: "sma", values: (0..<20).map { $0 == 3 ? .nan : Double(67_000) }, panel: .price)
        let chart = SVGChart.candles(candles, overlays: [overlay], markers: [], title: "gaps")
        #expect(!leaksNonFinite(chart))
        #expect(chart.contains("class=\"body"))
    }

    @Test func buyMarkerSitsBelowThePriceAndSellMarkerAbove() throws {
        let candles = Self.candles(50)
        let time = candles[20].time, price = candles[20].close
        let markers = [
            ChartMarker(time: time, price: price, isBuy: true, label: "bought 0.1"),
            ChartMarker(time: time, price: price, isBuy: false, label: "sold 0.1"),
        ]
        let svg = SVGChart.candles(candles, overlays: [], markers: markers, title: "markers")
        let buy = attribute("d", ofElementsContaining: "class=\"mk buy\"", in: svg)
        let sell = attribute("d", ofElementsContaining: "class=\"mk sell\"", in: svg)
        #expect(buy.count == 1 && sell.count == 1)
        let buyTip = try #require(buy.first.flatMap(firstY))
        let sellTip = try #require(sell.first.flatMap(firstY))
        #expect(buyTip > sellTip)  // SVG y grows downwards: the buy is below the price, the sell above
        #expect(buyTip - sellTip <= 6)  // and both touch the same price
        #expect(buy.first?.contains("l5 9") == true)  // pointing up: the base is below the tip
        #expect(sell.first?.contains("l5 -9") == true)  // pointing down
        #expect(svg.contains("<title>bought 0.1</title>"))
        #expect(svg.contains("<title>sold 0.1</title>"))
    }

    @Test func markersBeforeTheFirstCandleAreLeftOut() {
        let candles = Self.candles(10)
        let early = ChartMarker(time: Self.start.addingTimeInterval(-7200), price: 67_000, isBuy: true, label: "early")
        let svg = SVGChart.candles(candles, overlays: [], markers: [early], title: "m")
        #expect(!svg.contains("early"))
        #expect(!svg.contains("class=\"mk"))
    }

    @Test func overlaysAndOscillatorsAreDrawnAndNamedInTheLegend() {
        let candles = Self.candles(60)
        let overlays = [
            ChartSeries(name: "sma_10", values: (0..<60).map { $0 < 9 ? nil : 67_000 }, panel: .price),
            ChartSeries(name: "rsi_14", values: (0..<60).map { $0 < 14 ? nil : Double($0) }, panel: .oscillator(min: 0, max: 100)),
        ]
        let svg = SVGChart.candles(candles, overlays: overlays, markers: [], title: "o")
        #expect(svg.contains("class=\"overlay overlay-0\""))
        #expect(svg.contains("class=\"osc overlay-1\""))
        #expect(svg.contains(">sma_10</tspan>") && svg.contains(">rsi_14</tspan>"))
        #expect(svg.contains(">100</text>") && svg.contains(">0</text>"))
    }

    @Test func fiveThousandCandlesStayFarUnderFourHundredKilobytes() {
        let candles = Self.candles(5_000)
        let overlays = [
            ChartSeries(name: "sma", values: candles.map(\.close), panel: .price),
            ChartSeries(name: "rsi", values: candles.map { _ in 50 }, panel: .oscillator(min: 0, max: 100)),
        ]
        let markers = stride(from: 0, to: 5_000, by: 250).map {
            ChartMarker(time: candles[$0].time, price: candles[$0].close, isBuy: $0 % 500 == 0, label: "#\($0)")
        }
        let svg = SVGChart.candles(candles, overlays: overlays, markers: markers, title: "big")
        #expect(svg.utf8.count < 400_000, "\(svg.utf8.count) bytes")
        for name in ["body up", "body down", "wick up", "wick down", "vol up", "vol down", "overlay overlay-0", "osc overlay-1"] {
            #expect(svg.components(separatedBy: "class=\"\(name)\"").count - 1 == 1, "\(name)")
        }
        #expect(svg.components(separatedBy: "class=\"mk ").count - 1 == markers.count)
    }

    @Test func timeLabelsCarryISOUTCAndReadAsUTC() throws {
        let svg = SVGChart.candles(Self.candles(72), overlays: [], markers: [], title: "t")
        let times = attribute("data-time", ofElementsContaining: "data-time=", in: svg)
        #expect((3...6).contains(times.count), "\(times)")
        let iso = try Regex(#"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#)
        for time in times { #expect(time.wholeMatch(of: iso) != nil, "\(time)") }
        // 72 hourly candles from 2026-11-26 00:00 UTC: the labels fall on round UTC times.
        #expect(times.contains("2026-11-27T00:00:00Z"))
        #expect(svg.contains("data-time=\"2026-11-27T00:00:00Z\"") && svg.contains(">11-27 00:00</text>"))

        let line = SVGChart.line(Self.points(Array(repeating: 1, count: 48).enumerated().map { Double($0.offset) }), title: "l")
        let lineTimes = attribute("data-time", ofElementsContaining: "data-time=", in: line)
        #expect((3...6).contains(lineTimes.count), "\(lineTimes)")
        for time in lineTimes { #expect(time.wholeMatch(of: iso) != nil, "\(time)") }
    }

    @Test func sameInputGivesTheSameBytes() {
        let candles = Self.candles(300)
        let overlays = [ChartSeries(name: "sma", values: candles.map(\.close), panel: .price)]
        let markers = [ChartMarker(time: candles[100].time, price: candles[100].close, isBuy: true, label: "b")]
        let first = SVGChart.candles(candles, overlays: overlays, markers: markers, title: "d")
        let second = SVGChart.candles(candles, overlays: overlays, markers: markers, title: "d")
        #expect(first == second)
        #expect(SVGChart.line(Self.points([1, 3, 2]), title: "d") == SVGChart.line(Self.points([1, 3, 2]), title: "d"))
    }

    @Test func coordinatesUseAtMostOneDecimal() throws {
        #expect(SVGChart.n(12.345) == "12.3")
        #expect(SVGChart.n(12.0) == "12")
        #expect(SVGChart.n(-0.04) == "0")
        #expect(SVGChart.n(-0.06) == "-0.1")
        let svg = SVGChart.candles(Self.candles(50), overlays: [], markers: [], title: "c")
        let long = try Regex(#"\d\.\d\d"#)
        let paths = attribute("d", ofElementsContaining: "path class", in: svg)
        #expect(paths.count >= 4)
        #expect(paths.allSatisfy { $0.firstMatch(of: long) == nil })
    }
}
