import Foundation

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
