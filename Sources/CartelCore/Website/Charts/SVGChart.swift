import Foundation

/// One candle of a candlestick chart. Prices and volume are floating point: a chart only draws.
public struct ChartCandle: Sendable, Equatable {
    /// The candle's open time (UTC instant).
    public var time: Date
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(time: Date, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}

/// A trade placed on a candlestick chart: a triangle up below the price for a buy, down above
/// it for a sell, with `label` as its tooltip.
public struct ChartMarker: Sendable, Equatable {
    public var time: Date
    public var price: Double
    public var isBuy: Bool
    public var label: String

    public init(time: Date, price: Double, isBuy: Bool, label: String) {
        self.time = time
        self.price = price
        self.isBuy = isBuy
        self.label = label
    }
}

/// An indicator drawn with the candles, one value per candle.
public struct ChartSeries: Sendable, Equatable {
    /// Where a series is drawn.
    public enum Panel: Sendable, Equatable {
        /// Over the candles, on the price scale (moving averages, bands).
        case price
        /// In a panel of its own below the volume, scaled to `min...max` (RSI: 0...100). Series
        /// with the same range share one panel.
        case oscillator(min: Double, max: Double)
    }

    public var name: String
    /// Aligned index by index with the candles; nil while the indicator warms up.
    public var values: [Double?]
    public var panel: Panel

    public init(name: String, values: [Double?], panel: Panel) {
        self.name = name
        self.values = values
        self.panel = panel
    }
}

/// One point of a line chart (an equity curve).
public struct ChartPoint: Sendable, Equatable {
    public var time: Date
    public var value: Double

    public init(time: Date, value: Double) {
        self.time = time
        self.value = value
    }
}

/// Server-rendered SVG charts, viewable without JavaScript.
///
/// Guarantees: the output is one `<svg class="chart …" width="100%" viewBox="0 0 W H">` element
/// whose colours come only from CSS classes (`WebsiteAssets.css` styles them for light and dark
/// themes), with no script, no style attribute and no external reference; every caller-supplied
/// text is XML-escaped; non-finite values are skipped; the same input gives the same bytes.
/// Time-axis labels are UTC text carrying `data-time="<ISO 8601 UTC>"` for `app.js` to relabel
/// in the browser's zone. Empty input gives a small "no data yet" SVG.
public enum SVGChart {
    /// A line chart (an equity curve): the area under the line lightly filled, 4–5 round value
    /// ticks (labelled with `valueFormat`), 3–6 time labels. More points than the width can show
    /// are thinned to each pixel column's first, lowest, highest and last point.
    public static func line(
        _ points: [ChartPoint], title: String, valueFormat: (Double) -> String = { String(format: "%.2f", $0) },
        width: Int = 800, height: Int = 240
    ) -> String {
        let w = Double(min(max(width, 160), 20_000))
        let h = Double(min(max(height, 100), 20_000))
        let data = points.enumerated()
            .filter { $0.element.value.isFinite && $0.element.time.timeIntervalSince1970.isFinite }
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map(\.element)
        guard let first = data.first, let last = data.last else { return empty(title: title) }

        let left = 6.0, right = w - 6, top = 30.0, bottom = h - 30
        let (valueTicks, lo, hi) = Scale.snapped(data.map(\.value).min()!, data.map(\.value).max()!)
        let t0 = first.time.timeIntervalSince1970, t1 = last.time.timeIntervalSince1970
        func x(_ t: Double) -> Double { t1 > t0 ? left + (t - t0) / (t1 - t0) * (right - left) : (left + right) / 2 }
        func y(_ v: Double) -> Double { bottom - (v - lo) / (hi - lo) * (bottom - top) }

        var svg = Writer(width: w, height: h, title: title, kind: "chart-line")
        svg.legend([], title: title, left: left, right: right, rowHeight: 28, width: w)

        let timeLabels = TimeAxis.proportional(from: t0, to: t1, left: left, right: right, x: x)
        var grid = ""
        for tick in valueTicks { grid += "M\(n(left)) \(n(y(tick)))H\(n(right))" }
        for label in timeLabels { grid += "M\(n(label.x)) \(n(top))V\(n(bottom))" }
        svg.path(class: "grid", grid)
        svg.path(class: "axis", "M\(n(left)) \(n(bottom))H\(n(right))")

        let shown = thin(data, columnOf: { Int(x($0.time.timeIntervalSince1970).rounded(.down)) }, limit: Int(right - left) * 2)
        if shown.count == 1 {
            svg.raw("<circle class=\"dot single\" cx=\"\(n(x(t0)))\" cy=\"\(n(y(first.value)))\" r=\"5\"/>")
        } else {
            var line = ""
            for (index, point) in shown.enumerated() {
                line += (index == 0 ? "M" : index == 1 ? "L" : " ") + "\(n(x(point.time.timeIntervalSince1970))) \(n(y(point.value)))"
            }
            let area = "M\(n(x(t0))) \(n(bottom))L" + line.dropFirst() + "L\(n(x(t1))) \(n(bottom))Z"
            svg.path(class: "area", area)
            svg.path(class: "line", line, fillNone: true)
            svg.raw("<circle class=\"dot\" cx=\"\(n(x(t1)))\" cy=\"\(n(y(last.value)))\" r=\"3\"/>")
        }
        // The highest under its grid line, the lowest above it, the others centred on theirs: no
        // label leaves the plot or meets its neighbour, whatever the type size.
        for (index, tick) in valueTicks.enumerated() {
            let position = valueTicks.count == 1 ? 1 : index == 0 ? 0 : index == valueTicks.count - 1 ? 2 : 1
            svg.text(
                class: "y", x: left + 4, y: y(tick) + [-4, 0, 3][position], anchor: nil, baseline: [nil, "middle", "hanging"][position],
                valueFormat(tick))
        }
        svg.timeLabels(timeLabels, y: h - 9)
        return svg.finish()
    }

    /// Candlesticks (up and down bodies with wicks), a volume panel beneath, `.price` overlays as
    /// lines over the candles, `.oscillator` series in panels of their own at the bottom (one per
    /// distinct range, values clamped to it; a 0...100 panel gets guides at 30 and 70), trade
    /// markers with tooltips, and a legend naming every overlay. The x axis is the candle
    /// sequence (gaps in time are not drawn). More candles than fit at 2 units each are merged
    /// into OHLC buckets (first open, highest high, lowest low, last close, summed volume; an
    /// overlay shows its last value in the bucket), so even 5,000 candles stay a small document.
    public static func candles(
        _ candles: [ChartCandle], overlays: [ChartSeries], markers: [ChartMarker], title: String,
        width: Int = 960, height: Int = 420
    ) -> String {
        let w = Double(min(max(width, 200), 20_000))
        let h = Double(min(max(height, 160), 20_000))
        let order = candles.indices
            .filter { let c = candles[$0]; return c.open.isFinite && c.high.isFinite && c.low.isFinite && c.close.isFinite && c.time.timeIntervalSince1970.isFinite }
            .sorted { (candles[$0].time, $0) < (candles[$1].time, $1) }
        guard !order.isEmpty else { return empty(title: title) }

        // Candles end before a gutter on the right that holds the price scale: on a phone the
        // chart scrolls and shows its newest (right) part first, with the scale in view.
        let left = 6.0, right = w - 6, plotRight = right - 52
        let bars = Bar.buckets(candles, order: order, slots: max(1, Int((plotRight - left) / 2)))
        let values = overlays.map { series in bars.map { $0.last(of: series.values) } }
        let slot = (plotRight - left) / Double(bars.count)
        let bodyWidth = slot < 3 ? 1 : min(slot * 0.7, 24)
        func x(_ index: Int) -> Double { left + (Double(index) + 0.5) * slot }
        let placed = place(markers, on: bars)

        // Panels, top to bottom: price, volume, one per oscillator range.
        var entries = overlays.enumerated().map { LegendEntry(swatch: "overlay-\($0.offset % 6)", name: $0.element.name) }
        if placed.contains(where: { $0.marker.isBuy }) { entries.append(LegendEntry(swatch: "sw-buy", name: "buy", glyph: "▲")) }
        if placed.contains(where: { !$0.marker.isBuy }) { entries.append(LegendEntry(swatch: "sw-sell", name: "sell", glyph: "▼")) }
        let rows = Writer.legendRows(entries, title: title, width: w)
        let top = 26.0 * Double(rows.count), axis = 30.0, gap = 8.0
        var ranges: [(min: Double, max: Double, series: [Int])] = []
        for (index, series) in overlays.enumerated() {
            guard case .oscillator(let a, let b) = series.panel else { continue }
            let (lo, hi) = Scale.oscillatorRange(a, b, values: values[index])
            if let found = ranges.firstIndex(where: { $0.min == lo && $0.max == hi }) {
                ranges[found].series.append(index)
            } else {
                ranges.append((lo, hi, [index]))
            }
        }
        let hasVolume = bars.contains { $0.volume > 0 }
        let available = h - top - axis
        let volumeHeight = hasVolume ? available * 0.14 : 0
        let oscillatorHeight = ranges.isEmpty ? 0 : min(available * 0.22, available * 0.4 / Double(ranges.count))
        let priceBottom = h - axis - (hasVolume ? volumeHeight + gap : 0) - Double(ranges.count) * (oscillatorHeight + gap)
        let volumeTop = priceBottom + gap, volumeBottom = volumeTop + volumeHeight
        let firstOscillatorTop = (hasVolume ? volumeBottom : priceBottom) + gap

        var priceValues = bars.flatMap { [$0.low, $0.high] } + placed.map(\.marker.price)
        for (index, series) in overlays.enumerated() where series.panel == .price { priceValues += values[index].compactMap { $0 } }
        let (lo, hi) = Scale.padded(priceValues.min()!, priceValues.max()!)
        func y(_ v: Double) -> Double { priceBottom - (v - lo) / (hi - lo) * (priceBottom - top) }

        var svg = Writer(width: w, height: h, title: title, kind: "chart-candles")
        svg.legend(entries, title: title, left: left, right: right, rowHeight: 26, width: w)

        let timeLabels = TimeAxis.sequence(bars.map(\.time), x: x, left: left, right: plotRight)
        let priceTicks = Scale.ticks(lo, hi).filter { y($0) >= top + 8 && y($0) <= priceBottom - 8 }
        var grid = "", axes = "M\(n(left)) \(n(priceBottom))H\(n(right))"
        for tick in priceTicks { grid += "M\(n(left)) \(n(y(tick)))H\(n(right))" }
        let gridBottom = ranges.isEmpty ? (hasVolume ? volumeBottom : priceBottom) : firstOscillatorTop + Double(ranges.count) * (oscillatorHeight + gap) - gap
        for label in timeLabels { grid += "M\(n(label.x)) \(n(top))V\(n(gridBottom))" }
        if hasVolume { axes += "M\(n(left)) \(n(volumeBottom))H\(n(right))" }
        var guides = ""
        for (panel, range) in ranges.enumerated() {
            let panelTop = firstOscillatorTop + Double(panel) * (oscillatorHeight + gap), panelBottom = panelTop + oscillatorHeight
            grid += "M\(n(left)) \(n(panelTop))H\(n(right))"
            axes += "M\(n(left)) \(n(panelBottom))H\(n(right))"
            let marks = range.min == 0 && range.max == 100 ? [30.0, 70.0] : [(range.min + range.max) / 2]
            for mark in marks {
                guides += "M\(n(left)) \(n(panelBottom - (mark - range.min) / (range.max - range.min) * oscillatorHeight))H\(n(right))"
            }
        }
        svg.path(class: "grid", grid)
        if !guides.isEmpty { svg.path(class: "grid guide", guides) }
        svg.path(class: "axis", axes)

        // Candles and volume: one path per colour, however many candles.
        var wicks = ["", ""], bodies = ["", ""], volume = ["", ""]
        let maxVolume = bars.map(\.volume).max() ?? 0
        for (index, bar) in bars.enumerated() {
            let side = bar.close >= bar.open ? 0 : 1
            let cx = x(index), x0 = cx - bodyWidth / 2
            wicks[side] += "M\(n(cx)) \(n(y(bar.high)))V\(n(y(bar.low)))"
            let bodyTop = y(max(bar.open, bar.close)), bodyHeight = max(y(min(bar.open, bar.close)) - bodyTop, 1)
            bodies[side] += "M\(n(x0)) \(n(bodyTop))h\(n(bodyWidth))v\(n(bodyHeight))h\(n(-bodyWidth))z"
            if hasVolume, bar.volume > 0 {
                let barHeight = max(bar.volume / maxVolume * volumeHeight, 0.5)
                volume[side] += "M\(n(x0)) \(n(volumeBottom - barHeight))h\(n(bodyWidth))v\(n(barHeight))h\(n(-bodyWidth))z"
            }
        }
        for (side, name) in ["up", "down"].enumerated() {
            svg.path(class: "vol \(name)", volume[side])
            svg.path(class: "wick \(name)", wicks[side], fillNone: true)
            svg.path(class: "body \(name)", bodies[side])
        }

        for (index, series) in overlays.enumerated() where series.panel == .price {
            svg.path(class: "overlay overlay-\(index % 6)", polyline(values[index], x: x, y: y), fillNone: true)
        }
        for (panel, range) in ranges.enumerated() {
            let panelTop = firstOscillatorTop + Double(panel) * (oscillatorHeight + gap), panelBottom = panelTop + oscillatorHeight
            func oy(_ v: Double) -> Double {
                panelBottom - (min(max(v, range.min), range.max) - range.min) / (range.max - range.min) * oscillatorHeight
            }
            for index in range.series {
                svg.path(class: "osc overlay-\(index % 6)", polyline(values[index], x: x, y: oy), fillNone: true)
            }
            svg.text(class: "y", x: right, y: panelTop + 2, anchor: "end", baseline: "hanging", Scale.label(range.max, step: range.max - range.min))
            svg.text(class: "y", x: right, y: panelBottom - 2, anchor: "end", baseline: nil, Scale.label(range.min, step: range.max - range.min))
        }

        if !placed.isEmpty {
            svg.raw("<g class=\"markers\">")
            for item in placed {
                let cx = n(x(item.bar)), py = y(item.marker.price)
                let shape = item.marker.isBuy ? "M\(cx) \(n(py + 2))l5 9h-10z" : "M\(cx) \(n(py - 2))l5 -9h-10z"
                svg.raw("<path class=\"mk \(item.marker.isBuy ? "buy" : "sell")\" d=\"\(shape)\"><title>\(escape(item.marker.label))</title></path>")
            }
            svg.raw("</g>")
        }

        let step = priceTicks.count > 1 ? priceTicks[1] - priceTicks[0] : (hi - lo) / 4
        for tick in priceTicks {
            svg.text(class: "y", x: right, y: y(tick), anchor: "end", baseline: "middle", Scale.label(tick, step: step))
        }
        if hasVolume { svg.text(class: "y", x: right, y: volumeTop + 2, anchor: "end", baseline: "hanging", "vol") }
        svg.timeLabels(timeLabels, y: h - 9)
        return svg.finish()
    }
}

// MARK: - Building blocks

extension SVGChart {
    /// A chart without data: one line of text at the page's own type size (no viewBox, so it is
    /// not scaled down on a phone).
    static func empty(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" height=\"48\" role=\"img\" aria-label=\"\(escape(title)): no data yet\""
            + " class=\"chart chart-empty\" font-size=\"14\"><text class=\"empty\" x=\"50%\" y=\"50%\" text-anchor=\"middle\""
            + " dominant-baseline=\"middle\">no data yet</text></svg>"
    }

    /// XML-escapes caller text (`& < > " '`) and drops control characters XML cannot hold.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out += " "
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A coordinate with at most one decimal, no trailing `.0`, never `-0`.
    static func n(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "0" }
        let tenths = Int((value * 10).rounded())
        let whole = abs(tenths) / 10, fraction = abs(tenths) % 10
        return (tenths < 0 ? "-" : "") + (fraction == 0 ? "\(whole)" : "\(whole).\(fraction)")
    }

    /// One path through the non-nil values; a nil starts a new stretch.
    static func polyline(_ values: [Double?], x: (Int) -> Double, y: (Double) -> Double) -> String {
        var path = "", previous = false
        for (index, value) in values.enumerated() {
            guard let value else { previous = false; continue }
            path += (previous ? " " : "M") + "\(n(x(index))) \(n(y(value)))"
            previous = true
        }
        return path
    }

    /// Keeps each pixel column's first, lowest, highest and last point once `points` exceeds `limit`.
    static func thin(_ points: [ChartPoint], columnOf: (ChartPoint) -> Int, limit: Int) -> [ChartPoint] {
        guard points.count > limit else { return points }
        var kept: [ChartPoint] = []
        var start = 0
        while start < points.count {
            let column = columnOf(points[start])
            var end = start
            while end + 1 < points.count, columnOf(points[end + 1]) == column { end += 1 }
            var lowest = start, highest = start
            for index in start...end {
                if points[index].value < points[lowest].value { lowest = index }
                if points[index].value > points[highest].value { highest = index }
            }
            var previous = -1
            for index in [start, lowest, highest, end].sorted() where index != previous {
                kept.append(points[index])
                previous = index
            }
            start = end + 1
        }
        return kept
    }

    /// Each marker with the bucket it falls in; markers before the first candle or with a
    /// non-finite price are left out, markers after the last go on the last.
    static func place(_ markers: [ChartMarker], on bars: [Bar]) -> [(marker: ChartMarker, bar: Int)] {
        markers.enumerated()
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .compactMap { item in
                let marker = item.element
                guard marker.price.isFinite, let first = bars.first, marker.time >= first.time else { return nil }
                var low = 0, high = bars.count - 1
                while low < high {
                    let mid = (low + high + 1) / 2
                    if bars[mid].time <= marker.time { low = mid } else { high = mid - 1 }
                }
                return (marker, low)
            }
    }

    /// Candles merged into one slot of the x axis.
    struct Bar {
        var time: Date
        var open, high, low, close, volume: Double
        /// Indices into the caller's arrays, in time order.
        var sources: ArraySlice<Int>

        /// The last finite value of `values` among this bar's candles.
        func last(of values: [Double?]) -> Double? {
            for index in sources.reversed() where index < values.count {
                if let value = values[index], value.isFinite { return value }
            }
            return nil
        }

        static func buckets(_ candles: [ChartCandle], order: [Int], slots: Int) -> [Bar] {
            let size = (order.count + slots - 1) / slots
            return stride(from: 0, to: order.count, by: size).map { start in
                let sources = order[start..<min(start + size, order.count)]
                let first = candles[sources.first!], last = candles[sources.last!]
                var bar = Bar(time: first.time, open: first.open, high: -.infinity, low: .infinity, close: last.close, volume: 0, sources: sources)
                for index in sources {
                    let candle = candles[index]
                    bar.high = max(bar.high, candle.high, candle.open, candle.close)
                    bar.low = min(bar.low, candle.low, candle.open, candle.close)
                    if candle.volume.isFinite, candle.volume > 0 { bar.volume += candle.volume }
                }
                return bar
            }
        }
    }

    struct LegendEntry {
        var swatch: String
        var name: String
        var glyph = "■"
    }
}

// MARK: - Scales and axes

extension SVGChart {
    enum Scale {
        /// The data range with 6 % air above and below; a flat range is widened around its value.
        static func padded(_ low: Double, _ high: Double) -> (Double, Double) {
            let span = high - low
            guard span.isFinite else { return (low, low + 1) }  // beyond what a chart can scale: draw something, not crash
            if span > abs(high) * 1e-12, span > 0 { return (low - span * 0.06, high + span * 0.06) }
            let air = low == 0 ? 1 : abs(low) * 0.05
            return (low - air, high + air)
        }

        /// 4–6 round ticks (5 or 4 when possible) whose first and last enclose the data, and the
        /// axis range they span.
        static func snapped(_ low: Double, _ high: Double) -> (ticks: [Double], low: Double, high: Double) {
            var (low, high) = (low, high)
            if !(high - low > abs(high) * 1e-12) { (low, high) = padded(low, high) }
            guard (high - low).isFinite, high > low else { return ([low], low, low + 1) }
            let exponent = (log10(high - low) - 1).rounded(.down)
            var best: (ticks: [Double], score: Double)?
            for power in 0..<4 {
                for mantissa in [1.0, 2, 2.5, 5] {
                    let step = mantissa * pow(10, exponent + Double(power) - 1)
                    let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
                    let count = Int(last - first) + 1
                    guard count >= 2, count <= 12 else { continue }
                    let score = count == 5 ? 0 : count == 4 ? 1 : count == 6 ? 2 : Double(3 + abs(count - 5))
                    if best == nil || score < best!.score {
                        best = ((0..<count).map { (first + Double($0)) * step }, score)
                    }
                }
            }
            guard let ticks = best?.ticks, let lowest = ticks.first, let highest = ticks.last else { return ([low], low, high) }
            return (ticks, lowest, highest)
        }

        /// The caller's oscillator range, or the data's when the caller's is empty or not finite.
        static func oscillatorRange(_ a: Double, _ b: Double, values: [Double?]) -> (Double, Double) {
            if a.isFinite, b.isFinite, b > a { return (a, b) }
            let finite = values.compactMap { $0 }
            guard let low = finite.min(), let high = finite.max() else { return (0, 1) }
            return high > low ? (low, high) : padded(low, high)
        }

        /// Multiples of a round step (1, 2, 2.5 or 5 × 10ⁿ) inside `low...high`, 4 or 5 of them
        /// when such a step exists.
        static func ticks(_ low: Double, _ high: Double) -> [Double] {
            let span = high - low
            guard span > 0, span.isFinite else { return [low] }
            let exponent = (log10(span) - 1).rounded(.down)
            var best: (step: Double, count: Int)?
            for power in 0..<4 {
                for mantissa in [1.0, 2, 2.5, 5] {
                    let step = mantissa * pow(10, exponent + Double(power) - 1)
                    let count = Int((high / step).rounded(.down) - (low / step).rounded(.up)) + 1
                    let score = count >= 4 && count <= 5 ? 0 : abs(Double(count) - 4.5)
                    let bestScore = best.map { $0.count >= 4 && $0.count <= 5 ? 0 : abs(Double($0.count) - 4.5) } ?? .infinity
                    if count >= 1, count <= 50, score < bestScore { best = (step, count) }
                }
            }
            guard let best else { return [low] }
            let first = (low / best.step).rounded(.up)
            return (0..<best.count).map { (first + Double($0)) * best.step }
        }

        /// A value with as many decimals as `step` needs (three significant digits of it at
        /// most) and thousands separated by commas.
        static func label(_ value: Double, step: Double) -> String {
            var decimals = 0
            let scaled = abs(step)
            let most = scaled > 0 && scaled.isFinite ? min(12, max(0, 2 - Int(log10(scaled).rounded(.down)))) : 0
            while decimals < most {
                let shifted = scaled * pow(10, Double(decimals))
                if abs(shifted - shifted.rounded()) < 1e-6 * max(1, shifted) { break }
                decimals += 1
            }
            let text = String(format: "%.\(decimals)f", value == 0 ? 0 : value)
            let negative = text.hasPrefix("-")
            let body = negative ? String(text.dropFirst()) : text
            let parts = body.split(separator: ".", maxSplits: 1)
            var whole = Array(parts[0])
            var grouped = ""
            while whole.count > 3 {
                grouped = "," + String(whole.suffix(3)) + grouped
                whole.removeLast(3)
            }
            grouped = String(whole) + grouped
            let result = grouped + (parts.count > 1 ? "." + parts[1] : "")
            return (negative && result.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) ? "-" : "") + result
        }
    }

    struct TimeLabel {
        var x: Double
        var time: Double
        var anchor: String
    }

    enum TimeAxis {
        static let steps: [Double] = [
            60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800, 1_209_600, 2_592_000, 7_776_000,
            31_536_000, 157_680_000,
        ]

        /// Labels at round UTC times between `t0` and `t1` on a time-proportional axis.
        static func proportional(from t0: Double, to t1: Double, left: Double, right: Double, x: (Double) -> Double) -> [TimeLabel] {
            guard t1 > t0 else { return finish([(x(t0), t0)], left: left, right: right) }
            var times: [Double] = []
            for step in steps {
                let first = (t0 / step).rounded(.up), last = (t1 / step).rounded(.down)
                if last - first + 1 <= 6 {
                    times = stride(from: first, through: last, by: 1).map { $0 * step }
                    break
                }
            }
            if times.count < 3 { times = [t0, (t0 + t1) / 2, t1].map { ($0 / 60).rounded() * 60 } }
            return finish(times.map { (x($0), $0) }, left: left, right: right)
        }

        /// Labels at the first candle (or bucket) of each round UTC period on a candle-sequence
        /// axis, naming the round time that starts the period.
        static func sequence(_ dates: [Date], x: (Int) -> Double, left: Double, right: Double) -> [TimeLabel] {
            let times = dates.map(\.timeIntervalSince1970)
            var chosen: [(index: Int, time: Double)] = []
            for step in steps {
                var found: [(index: Int, time: Double)] = []
                for index in times.indices {
                    let period = (times[index] / step).rounded(.down)
                    if index == 0 ? times[0] == period * step : period != (times[index - 1] / step).rounded(.down) {
                        found.append((index, index == 0 ? times[0] : max(period * step, times[index - 1])))
                    }
                }
                if found.count <= 6 {
                    chosen = found
                    break
                }
            }
            if chosen.count < 3 {
                let count = min(times.count, 3)
                chosen = (count == 1 ? [0] : (0..<count).map { ($0 * (times.count - 1)) / (count - 1) }).map { ($0, times[$0]) }
            }
            return finish(chosen.map { (x($0.index), $0.time) }, left: left, right: right)
        }

        /// Drops labels too close to the previous one and anchors those near an edge inward.
        static func finish(_ labels: [(x: Double, time: Double)], left: Double, right: Double) -> [TimeLabel] {
            let gap = (right - left) / 8
            var kept: [TimeLabel] = []
            for label in labels {
                if let previous = kept.last, label.x - previous.x < gap { continue }
                let anchor = labels.count == 1 ? "middle" : label.x - left < 60 ? "start" : right - label.x < 60 ? "end" : "middle"
                kept.append(TimeLabel(x: label.x, time: label.time, anchor: anchor))
            }
            return kept
        }

        /// `(ISO 8601 UTC, "MM-DD HH:mm")` for a Unix time.
        static func text(_ time: Double) -> (iso: String, short: String) {
            let seconds = Int64(min(max(time, -1e14), 1e14).rounded(.down))
            var days = seconds / 86_400, rest = seconds % 86_400
            if rest < 0 { rest += 86_400; days -= 1 }
            // Days to civil date (Howard Hinnant's algorithm).
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let day = doy - (153 * mp + 2) / 5 + 1
            let month = mp < 10 ? mp + 3 : mp - 9
            let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
            func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let clock = "\(two(rest / 3600)):\(two(rest % 3600 / 60))"
            let date = "\(two(month))-\(two(day))"
            let yearText = year >= 0 && year < 10000 ? String(repeating: "0", count: max(0, 4 - "\(year)".count)) + "\(year)" : "\(year)"
            return ("\(yearText)-\(date)T\(clock):\(two(rest % 60))Z", "\(date) \(clock)")
        }
    }
}

// MARK: - Writing SVG

extension SVGChart {
    /// Appends SVG elements to one string.
    struct Writer {
        private var out: String

        init(width: Double, height: Double, title: String, kind: String) {
            out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"100%\""
                + " role=\"img\" aria-label=\"\(escape(title))\" class=\"chart \(kind)\" font-size=\"11\">"
        }

        mutating func raw(_ text: String) { out += text }

        /// A path; nothing when `d` is empty. Stroke-only paths say `fill="none"` so they stay lines even without the style sheet.
        mutating func path(class name: String, _ d: String, fillNone: Bool = false) {
            guard !d.isEmpty else { return }
            out += "<path class=\"\(name)\"\(fillNone ? " fill=\"none\"" : "") d=\"\(d)\"/>"
        }

        mutating func text(class name: String, x: Double, y: Double, anchor: String?, baseline: String?, _ content: String) {
            out += "<text class=\"\(name)\" x=\"\(n(x))\" y=\"\(n(y))\""
            if let anchor { out += " text-anchor=\"\(anchor)\"" }
            if let baseline { out += " dominant-baseline=\"\(baseline)\"" }
            out += ">\(escape(content))</text>"
        }

        mutating func timeLabels(_ labels: [TimeLabel], y: Double) {
            for (index, label) in labels.enumerated() {
                let text = TimeAxis.text(label.time)
                let minor = labels.count >= 4 && index % 2 == 1 ? " minor" : ""
                out += "<text class=\"t\(minor)\" data-time=\"\(text.iso)\" x=\"\(n(label.x))\" y=\"\(n(y))\""
                    + " text-anchor=\"\(label.anchor)\">\(text.short)</text>"
            }
        }

        /// The title at the left and the legend entries flush right, on the title's row when they
        /// fit beside it, else on rows of their own (sized for the larger type phones get).
        /// Entries flow as `<tspan>`s, so they never overlap one another.
        mutating func legend(_ entries: [LegendEntry], title: String, left: Double, right: Double, rowHeight: Double, width: Double) {
            out += "<text class=\"lg title\" x=\"\(n(left))\" y=\"\(n(rowHeight * 0.68))\">\(escape(title))</text>"
            for (row, items) in Writer.legendRows(entries, title: title, width: width).enumerated() where !items.isEmpty {
                out += "<text class=\"lg\" x=\"\(n(right))\" y=\"\(n(rowHeight * Double(row) + rowHeight * 0.68))\" text-anchor=\"end\">"
                for (position, entry) in items.enumerated() {
                    let dx = position == 0 ? "" : " dx=\"1em\""
                    out += "<tspan class=\"sw \(entry.swatch)\"\(dx)>\(entry.glyph)</tspan><tspan dx=\".3em\">\(escape(entry.name))</tspan>"
                }
                out += "</text>"
            }
        }

        /// Legend entries by row; the first row shares its line with the title.
        static func legendRows(_ entries: [LegendEntry], title: String, width: Double) -> [[LegendEntry]] {
            let budget = max(20, Int(width / 12))
            var rows: [[LegendEntry]] = [[]]
            var used = title.count + 4
            for entry in entries {
                let size = entry.name.count + 3
                if used + size > budget, !(rows[rows.count - 1].isEmpty && rows.count > 1) {
                    rows.append([])
                    used = 0
                }
                rows[rows.count - 1].append(entry)
                used += size
            }
            return rows
        }

        func finish() -> String { out + "</svg>" }
    }
}
