import Foundation

/// Reads OHLCV candles from CSV: a header naming time (or date), open, high, low, close and
/// volume in any case and order (other columns are ignored); time as Unix seconds or ISO 8601
/// date or date-time. Values must be plain decimals. Errors name the line. A `vwap` column is
/// used when present; without one, vwap is the typical price (high + low + close) / 3.
public enum CandleCSV {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func read(path: String, pair: String, intervalMinutes: Int) throws -> [Candle] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ParseError(line: 0, message: "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(text, pair: pair, intervalMinutes: intervalMinutes)
    }

    public static func parse(_ text: String, pair: String, intervalMinutes: Int) throws -> [Candle] {
        try parseRows(text, pair: pair, intervalMinutes: intervalMinutes).map(\.candle)
    }

    /// Candles with the time text exactly as the file wrote it.
    public static func parseRows(_ text: String, pair: String, intervalMinutes: Int) throws -> [(time: String, candle: Candle)] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { ($0.offset + 1, $0.element.trimmingCharacters(in: .whitespaces)) }
            .filter { !$0.1.isEmpty }
        guard !lines.isEmpty else { throw ParseError(line: 1, message: "the file is empty") }
        let (headerLine, header) = lines.removeFirst()
        let names = header.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased() }
        func column(_ options: [String]) throws -> Int {
            guard let index = names.firstIndex(where: options.contains) else {
                throw ParseError(line: headerLine, message: "header has no \(options.joined(separator: "/")) column")
            }
            return index
        }
        let time = try column(["time", "date", "timestamp", "datetime"])
        let open = try column(["open"]), high = try column(["high"]), low = try column(["low"])
        let close = try column(["close"]), volume = try column(["volume"])
        let vwapColumn = names.firstIndex(of: "vwap")
        let needed = [time, open, high, low, close, volume].max()!
        return try lines.map { number, line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            guard fields.count > needed else {
                throw ParseError(line: number, message: "expected \(names.count) fields, found \(fields.count)")
            }
            func decimal(_ index: Int) throws -> Decimal {
                guard let value = DecimalText.parse(fields[index]) else {
                    throw ParseError(line: number, message: "\(names[index]) '\(fields[index])' is not a decimal number")
                }
                return value
            }
            guard let date = parseTime(fields[time]) else {
                throw ParseError(line: number, message: "time '\(fields[time])' is neither Unix seconds nor ISO 8601")
            }
            let (o, h, l, c, v) = (try decimal(open), try decimal(high), try decimal(low), try decimal(close), try decimal(volume))
            guard l <= min(o, c), h >= max(o, c) else {
                throw ParseError(line: number, message: "low/high do not bracket open and close")
            }
            let vwap = try vwapColumn.map { try decimal($0) } ?? (h + l + c) / 3
            return (fields[time], Candle(
                pair: pair, intervalMinutes: intervalMinutes, openTime: date, open: o, high: h, low: l, close: c,
                vwap: vwap, volume: v, tradeCount: 0))
        }
    }

    /// Unix seconds (integer or fractional), `YYYY-MM-DD`, or ISO 8601 date-time (UTC unless an
    /// offset is given; a space may replace the `T`).
    public static func parseTime(_ text: String) -> Date? {
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
