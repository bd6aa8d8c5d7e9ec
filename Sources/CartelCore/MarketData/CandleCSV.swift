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
    public static func readForAnalysis(path: String, jobs: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [StrategyCandle] {
        try withContents(of: path) { try analysisRows($0, keepTimeText: false, jobs: jobs).candles }
    }

    public static func parseForAnalysis(_ text: String, jobs: Int = 1, minimumChunkBytes: Int = 1 << 22) throws -> [StrategyCandle] {
        var text = text
        return try text.withUTF8 {
            try analysisRows($0, keepTimeText: false, jobs: jobs, minimumChunkBytes: minimumChunkBytes).candles
        }
    }

    /// The candles of a file, and where each row's time text is in `bytes` when asked for.
    struct AnalysisRows {
        var candles: [StrategyCandle] = []
        var timeText: [Range<Int>] = []
    }

    /// Reads every row into ``StrategyCandle``s (see ``analysisRows(_:in:firstLine:columns:keepTimeText:jobs:minimumChunkBytes:)``).
    static func analysisRows(
        _ bytes: UnsafeBufferPointer<UInt8>, keepTimeText: Bool, jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
        minimumChunkBytes: Int = 1 << 22
    ) throws -> AnalysisRows {
        let body = try analysisHeader(bytes)
        return try analysisRows(
            bytes, in: body.start..<bytes.count, firstLine: body.line, columns: body.columns, keepTimeText: keepTimeText, jobs: jobs,
            minimumChunkBytes: minimumChunkBytes
        ).rows
    }

    /// The header's columns, and where the rows start (byte and line).
    static func analysisHeader(_ bytes: UnsafeBufferPointer<UInt8>) throws -> (columns: Columns, start: Int, line: Int) {
        var columns: Columns?
        let (start, line): (Int, Int)
        do {
            (start, line) = try CSVScanner.scan(bytes, firstRecordOnly: true) { columns = try header($0) }
        } catch let error as CSVScanner.SyntaxError {
            throw ParseError(line: error.line, message: error.message)
        }
        guard let columns else { throw ParseError(line: 1, message: "the file is empty") }
        return (columns, start, line)
    }

    /// Reads the rows in `range` (which starts a line, numbered `firstLine`) into
    /// ``StrategyCandle``s, and says how many lines it covered.
    static func analysisRows(
        _ bytes: UnsafeBufferPointer<UInt8>, in range: Range<Int>, firstLine: Int, columns: Columns, keepTimeText: Bool,
        jobs: Int, minimumChunkBytes: Int = 1 << 22
    ) throws -> (rows: AnalysisRows, lines: Int) {
        let (pieces, lines) = try analysisPieces(
            bytes, in: range, firstLine: firstLine, columns: columns, keepTimeText: keepTimeText, jobs: jobs,
            minimumChunkBytes: minimumChunkBytes)
        if pieces.count == 1 { return (pieces[0], lines) }
        var all = AnalysisRows()
        let total = pieces.reduce(0) { $0 + $1.candles.count }
        all.candles.reserveCapacity(total)
        if keepTimeText { all.timeText.reserveCapacity(total) }
        for piece in pieces {
            all.candles += piece.candles
            all.timeText += piece.timeText
        }
        return (all, lines)
    }

    /// The rows in `range` (which starts a line, numbered `firstLine`), in pieces in file order,
    /// and how many lines they covered. A large range without quotes is cut at line ends into
    /// one piece per core and the pieces read at once (a quoted field may hold a line break, so
    /// a file with quotes is read in one piece); errors name the same line either way, the first
    /// in the file when several pieces fail.
    static func analysisPieces(
        _ bytes: UnsafeBufferPointer<UInt8>, in range: Range<Int>, firstLine: Int, columns: Columns, keepTimeText: Bool,
        jobs: Int, minimumChunkBytes: Int = 1 << 22
    ) throws -> (pieces: [AnalysisRows], lines: Int) {
        let pieces = lineAlignedPieces(UnsafeBufferPointer(rebasing: bytes[..<range.upperBound]), from: range.lowerBound, jobs: jobs, minimumBytes: minimumChunkBytes)
        let shared = SharedBytes(buffer: bytes)
        let results = parallelMap(pieces.count, jobs: jobs) { index -> Result<(AnalysisRows, lines: Int), ParseError> in
            let piece = pieces[index]
            var rows = AnalysisRows()
            rows.candles.reserveCapacity(piece.count / 40)
            if keepTimeText { rows.timeText.reserveCapacity(piece.count / 40) }
            let base = shared.buffer.baseAddress!
            do {
                let end = try CSVScanner.scan(UnsafeBufferPointer(rebasing: shared.buffer[..<piece.upperBound]), from: piece.lowerBound) { record in
                    let row = try row(record, columns)
                    rows.candles.append(row.strategyCandle)
                    if keepTimeText {
                        let start = row.timeText.baseAddress.map { $0 - base } ?? 0
                        rows.timeText.append(start..<(start + row.timeText.count))
                    }
                }
                return .success((rows, end.line - 1))
            } catch let error as ParseError {
                return .failure(error)
            } catch let error as CSVScanner.SyntaxError {
                return .failure(ParseError(line: error.line, message: error.message))
            } catch {
                return .failure(ParseError(line: 0, message: "\(error)"))
            }
        }
        var rows: [AnalysisRows] = []
        var line = firstLine
        for result in results {
            switch result {
            case .success(let (piece, lines)):
                rows.append(piece)
                line += lines
            case .failure(let error):
                throw ParseError(line: error.line + line - 1, message: error.message)
            }
        }
        return (rows, line - firstLine)
    }

    /// `bytes[start...]` cut just after line feeds into about `jobs` pieces of at least
    /// `minimumBytes`; one piece when the file holds a quote.
    static func lineAlignedPieces(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, jobs: Int, minimumBytes: Int) -> [Range<Int>] {
        let n = bytes.count
        let count = min(jobs, (n - start) / max(minimumBytes, 1))
        guard count > 1, memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\"")), n - start) == nil else { return [start..<n] }
        var pieces: [Range<Int>] = []
        var lower = start
        for piece in 1..<count {
            var cut = max(lower, start + (n - start) / count * piece)
            while cut < n, bytes[cut] != UInt8(ascii: "\n") { cut += 1 }
            guard cut < n else { break }
            pieces.append(lower..<(cut + 1))
            lower = cut + 1
        }
        pieces.append(lower..<n)
        return pieces
    }

    /// The file's bytes, read (never written) by the workers while the caller waits for them.
    struct SharedBytes: @unchecked Sendable {
        let buffer: UnsafeBufferPointer<UInt8>
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
        try forEachRow(bytes) { row, columns in
            let record = row.record
            func exact(_ value: ScannedDecimal, _ index: Int, _ name: StaticString) throws -> Decimal {
                guard let decimal = value.decimal(text: record.text(index)) else {
                    throw ParseError(line: record.line, message: "\(name) '\(record.text(index))' is not a decimal number")
                }
                return decimal
            }
            let (o, h, l, c, v) = (
                try exact(row.open, columns.open, "open"), try exact(row.high, columns.high, "high"),
                try exact(row.low, columns.low, "low"), try exact(row.close, columns.close, "close"),
                try exact(row.volume, columns.volume, "volume"))
            let vwap = try row.vwap.map { try exact($0, columns.vwap!, "vwap") } ?? (h + l + c) / 3
            result.append(Candle(
                pair: pair, intervalMinutes: intervalMinutes, openTime: Date(timeIntervalSince1970: row.time), open: o,
                high: h, low: l, close: c, vwap: vwap, volume: v, tradeCount: 0))
        }
        return result
    }

    struct Columns: Sendable {
        /// Fields in the header.
        var count: Int
        var time, open, high, low, close, volume: Int
        var vwap: Int?
        var needed: Int
    }

    /// The header, then every row checked and converted.
    static func forEachRow(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Row, Columns) throws -> Void) throws {
        var columns: Columns?
        var empty = true
        do {
            try CSVScanner.scan(bytes) { record in
                empty = false
                guard let columns else {
                    columns = try header(record)
                    return
                }
                try body(try row(record, columns), columns)
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
            count: names.count, time: time, open: open, high: high, low: low, close: close, volume: volume, vwap: vwap,
            needed: [time, open, high, low, close, volume, vwap ?? 0].max()!)
    }

    @inline(__always)
    static func row(_ record: CSVScanner.Record, _ columns: Columns) throws -> Row {
        guard record.count > columns.needed else {
            throw ParseError(line: record.line, message: "expected \(columns.count) fields, found \(record.count)")
        }
        // The header matched these names exactly (lowercased).
        func decimal(_ index: Int, _ name: StaticString) throws -> ScannedDecimal {
            guard let value = ScannedDecimal(record.slice(index)) else {
                throw ParseError(line: record.line, message: "\(name) '\(record.text(index))' is not a decimal number")
            }
            return value
        }
        guard let time = ScannedTime.seconds(record.slice(columns.time))
            ?? parseTime(record.text(columns.time)).map({ $0.timeIntervalSince1970 })
        else {
            throw ParseError(line: record.line, message: "time '\(record.text(columns.time))' is neither Unix seconds nor ISO 8601")
        }
        let (o, h, l, c, v) = (
            try decimal(columns.open, "open"), try decimal(columns.high, "high"), try decimal(columns.low, "low"),
            try decimal(columns.close, "close"), try decimal(columns.volume, "volume"))
        func text(_ index: Int) -> String { record.text(index) }
        guard l.isAtMost(o, texts: (text(columns.low), text(columns.open))),
              l.isAtMost(c, texts: (text(columns.low), text(columns.close))),
              o.isAtMost(h, texts: (text(columns.open), text(columns.high))),
              c.isAtMost(h, texts: (text(columns.close), text(columns.high)))
        else {
            throw ParseError(line: record.line, message: "low/high do not bracket open and close")
        }
        let vwap = try columns.vwap.map { try decimal($0, "vwap") }
        return Row(
            record: record, timeText: record.slice(columns.time), time: time, open: o, high: h, low: l, close: c, volume: v,
            vwap: vwap)
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
