import Foundation

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
