import Foundation

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
