import Foundation

/// Reads OHLCV candles from CSV: a header naming time (or date), open, high, low, close and
/// volume in any case and order (other columns are ignored); time as Unix seconds or ISO 8601
/// date or date-time. Values must be plain decimals. Errors name the line. A `vwap` column is
/// used when present; without one, vwap is the typical price (high + low + close) / 3.
///
/// One byte-level pass (``CSVScanner``) serves two readers: exact `Candle`s (`Decimal` prices,
/// for the replay that stores them) and ``StrategyCandle``s (doubles, for backtests and
/// indicators), which never build a string or a `Decimal` per field. Both apply the same checks
/// with the same messages: the bracket check compares the exact decimals either way.
public enum CandleCSV {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// One row as read: the time text's bytes (as written, valid during the callback), the
    /// candle in doubles, and the exact values for a caller that needs them.
    struct Row {
        var record: CSVScanner.Record
        var columns: Columns
        /// The time field's bytes as the file wrote them.
        var timeText: UnsafeBufferPointer<UInt8>
        var time: Double
        var open, high, low, close, volume: ScannedDecimal
        var vwap: ScannedDecimal?

        var strategyCandle: StrategyCandle {
            StrategyCandle(
                time: Date(timeIntervalSince1970: time), open: open.double, high: high.double, low: low.double,
                close: close.double, volume: volume.double)
        }
    }

    public static func read(path: String, pair: String, intervalMinutes: Int) throws -> [Candle] {
        try withContents(of: path) { try candles($0, pair: pair, intervalMinutes: intervalMinutes) }
    }

    public static func parse(_ text: String, pair: String, intervalMinutes: Int) throws -> [Candle] {
        var text = text
        return try text.withUTF8 { try candles($0, pair: pair, intervalMinutes: intervalMinutes) }
    }

    /// Candles for analysis (backtests, indicators): prices as doubles, in file order.
    public static func readForAnalysis(path: String) throws -> [StrategyCandle] {
        try withContents(of: path) { bytes in
            var result: [StrategyCandle] = []
            result.reserveCapacity(bytes.count / 40)
            try forEachRow(bytes) { result.append($0.strategyCandle) }
            return result
        }
    }

    public static func parseForAnalysis(_ text: String) throws -> [StrategyCandle] {
        var text = text
        return try text.withUTF8 { bytes in
            var result: [StrategyCandle] = []
            try forEachRow(bytes) { result.append($0.strategyCandle) }
            return result
        }
    }

    /// Calls `body` with each row's time bytes (as the file wrote them) and candle.
    public static func forEachAnalysisRow(
        path: String, _ body: (_ time: UnsafeBufferPointer<UInt8>, _ candle: StrategyCandle) throws -> Void
    ) throws {
        try withContents(of: path) { bytes in
            try forEachRow(bytes) { row in try body(row.timeText, row.strategyCandle) }
        }
    }

    static func withContents<T>(of path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CocoaError(.fileNoSuchFile)
            }
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw ParseError(line: 0, message: "cannot read \(path): \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { try body($0.bindMemory(to: UInt8.self)) }
    }

    static func candles(_ bytes: UnsafeBufferPointer<UInt8>, pair: String, intervalMinutes: Int) throws -> [Candle] {
        var result: [Candle] = []
        try forEachRow(bytes) { row in
            let record = row.record
            let columns = row.columns
            let (o, h, l, c, v) = (
                row.open.decimal(text: record.text(columns.open)), row.high.decimal(text: record.text(columns.high)),
                row.low.decimal(text: record.text(columns.low)), row.close.decimal(text: record.text(columns.close)),
                row.volume.decimal(text: record.text(columns.volume)))
            let vwap = row.vwap.map { $0.decimal(text: record.text(columns.vwap!)) } ?? (h + l + c) / 3
            result.append(Candle(
                pair: pair, intervalMinutes: intervalMinutes, openTime: Date(timeIntervalSince1970: row.time), open: o,
                high: h, low: l, close: c, vwap: vwap, volume: v, tradeCount: 0))
        }
        return result
    }

    struct Columns {
        var names: [String]
        var time, open, high, low, close, volume: Int
        var vwap: Int?
        var needed: Int
    }

    /// The header, then every row checked and converted.
    static func forEachRow(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Row) throws -> Void) throws {
        var columns: Columns?
        var empty = true
        do {
            try CSVScanner.scan(bytes) { record in
                empty = false
                guard let columns else {
                    columns = try header(record)
                    return
                }
                try body(try row(record, columns))
            }
        } catch let error as CSVScanner.SyntaxError {
            throw ParseError(line: error.line, message: error.message)
        }
        if empty { throw ParseError(line: 1, message: "the file is empty") }
    }

    static func header(_ record: CSVScanner.Record) throws -> Columns {
        let names = (0..<record.count).map { record.text($0).lowercased() }
        func column(_ options: [String]) throws -> Int {
            guard let index = names.firstIndex(where: options.contains) else {
                throw ParseError(line: record.line, message: "header has no \(options.joined(separator: "/")) column")
            }
            return index
        }
        let time = try column(["time", "date", "timestamp", "datetime"])
        let open = try column(["open"]), high = try column(["high"]), low = try column(["low"])
        let close = try column(["close"]), volume = try column(["volume"])
        let vwap = names.firstIndex(of: "vwap")
        return Columns(
            names: names, time: time, open: open, high: high, low: low, close: close, volume: volume, vwap: vwap,
            needed: [time, open, high, low, close, volume, vwap ?? 0].max()!)
    }

    @inline(__always)
    static func row(_ record: CSVScanner.Record, _ columns: Columns) throws -> Row {
        guard record.count > columns.needed else {
            throw ParseError(line: record.line, message: "expected \(columns.names.count) fields, found \(record.count)")
        }
        func decimal(_ index: Int) throws -> ScannedDecimal {
            guard let value = ScannedDecimal(record.slice(index)) else {
                throw ParseError(line: record.line, message: "\(columns.names[index]) '\(record.text(index))' is not a decimal number")
            }
            return value
        }
        guard let time = ScannedTime.seconds(record.slice(columns.time))
            ?? parseTime(record.text(columns.time)).map({ $0.timeIntervalSince1970 })
        else {
            throw ParseError(line: record.line, message: "time '\(record.text(columns.time))' is neither Unix seconds nor ISO 8601")
        }
        let (o, h, l, c, v) = (
            try decimal(columns.open), try decimal(columns.high), try decimal(columns.low), try decimal(columns.close),
            try decimal(columns.volume))
        func text(_ index: Int) -> String { record.text(index) }
        guard l.isAtMost(o, texts: (text(columns.low), text(columns.open))),
              l.isAtMost(c, texts: (text(columns.low), text(columns.close))),
              o.isAtMost(h, texts: (text(columns.open), text(columns.high))),
              c.isAtMost(h, texts: (text(columns.close), text(columns.high)))
        else {
            throw ParseError(line: record.line, message: "low/high do not bracket open and close")
        }
        let vwap = try columns.vwap.map { try decimal($0) }
        return Row(
            record: record, columns: columns, timeText: record.slice(columns.time), time: time, open: o, high: h, low: l,
            close: c, volume: v, vwap: vwap)
    }

    /// Unix seconds (integer or fractional), `YYYY-MM-DD`, or ISO 8601 date-time (UTC unless an
    /// offset is given; a space may replace the `T`).
    public static func parseTime(_ text: String) -> Date? {
        // Foundation rolls 2024-02-30 over into March; a date that does not exist is an error.
        let utf8 = Array(text.utf8.prefix(10))
        if utf8.count == 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"),
           let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)), let day = Int(text.dropFirst(8).prefix(2)),
           !(1...12).contains(month) || day < 1 || day > ScannedTime.daysIn(month: month, year: year) {
            return nil
        }
        if let seconds = Double(text), text.allSatisfy({ $0.isNumber || $0 == "." }) {
            return Date(timeIntervalSince1970: seconds)
        }
        let normalized = text.replacingOccurrences(of: " ", with: "T")
        if normalized.count == 10, let date = try? Date(normalized + "T00:00:00Z", strategy: .iso8601) {
            return date
        }
        if let date = try? Date(normalized, strategy: .iso8601) { return date }
        if let date = try? Date(normalized + "Z", strategy: .iso8601) { return date }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        if let date = try? fractional.parse(normalized) { return date }
        return try? fractional.parse(normalized + "Z")
    }
}
