import Foundation

/// One pass over the bytes of a CSV file, without building a `String` per line or field: each
/// record's fields are reported as byte ranges, trimmed of spaces and tabs. Quoted fields may
/// hold commas, doubled quotes (`""`) and line breaks; a UTF-8 byte order mark is skipped.
/// Lines end with `\n`, `\r\n` or `\r`; blank lines are skipped but still counted, so the line
/// numbers in errors are the ones an editor shows.
struct CSVScanner {
    struct Field {
        var start: Int
        var end: Int
        /// Quoted with doubled quotes inside: the bytes need unescaping to read as text.
        var escaped: Bool
    }

    struct SyntaxError: Error {
        var line: Int
        var message: String
    }

    /// The fields of one record, valid during the callback only.
    struct Record {
        let bytes: UnsafeBufferPointer<UInt8>
        let fields: UnsafeMutableBufferPointer<Field>
        let count: Int
        let line: Int

        subscript(index: Int) -> Field { fields[index] }

        func slice(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            let field = fields[index]
            return UnsafeBufferPointer(rebasing: bytes[field.start..<field.end])
        }

        /// The field as text (quotes removed, doubled quotes made single).
        func text(_ index: Int) -> String {
            let field = fields[index]
            let raw = String(decoding: slice(index), as: UTF8.self)
            return field.escaped ? raw.replacingOccurrences(of: "\"\"", with: "\"") : raw
        }
    }

    /// Calls `body` for every record that is not blank, in order, from byte `start` (counted
    /// as line `firstLine`) to the end, or only until the first record with `firstRecordOnly`.
    /// Returns where scanning stopped and the line number there.
    @discardableResult
    static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0, firstLine: Int = 1, firstRecordOnly: Bool = false,
        _ body: (Record) throws -> Void
    ) throws -> (end: Int, line: Int) {
        var capacity = 16
        var fields = UnsafeMutableBufferPointer<Field>.allocate(capacity: capacity)
        defer { fields.deallocate() }
        let n = bytes.count
        var i = start
        if start == 0, n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var line = firstLine
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        while i < n {
            let recordLine = line
            var count = 0
            var blank = true
            while true {
                while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
                var field = Field(start: i, end: i, escaped: false)
                if i < n, bytes[i] == quote {
                    blank = false
                    i += 1
                    field.start = i
                    while true {
                        guard i < n else { throw SyntaxError(line: recordLine, message: "a quoted field is never closed") }
                        let byte = bytes[i]
                        if byte == quote {
                            if i + 1 < n, bytes[i + 1] == quote {
                                field.escaped = true
                                i += 2
                                continue
                            }
                            field.end = i
                            i += 1
                            break
                        }
                        if byte == lf || (byte == cr && (i + 1 == n || bytes[i + 1] != lf)) { line += 1 }
                        i += 1
                    }
                    while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
                    if i < n, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr {
                        throw SyntaxError(line: line, message: "unexpected text after a closing quote")
                    }
                } else {
                    while i < n {
                        let byte = bytes[i]
                        if byte == comma || byte == lf || byte == cr { break }
                        i += 1
                    }
                    var end = i
                    while end > field.start, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
                    field.end = end
                    if end > field.start { blank = false }
                }
                if count == capacity {
                    let larger = UnsafeMutableBufferPointer<Field>.allocate(capacity: capacity * 2)
                    _ = larger.initialize(from: fields)
                    fields.deallocate()
                    fields = larger
                    capacity *= 2
                }
                fields[count] = field
                count += 1
                if i < n, bytes[i] == comma {
                    blank = false
                    i += 1
                    continue
                }
                if i < n, bytes[i] == cr { i += 1 }
                if i < n, bytes[i] == lf { i += 1 }
                line += 1
                break
            }
            if !blank {
                try body(Record(bytes: bytes, fields: fields, count: count, line: recordLine))
                if firstRecordOnly { break }
            }
        }
        return (i, line)
    }
}

/// A plain decimal read from bytes (`-?digits[.digits]`): its digits as an integer and a scale,
/// so exact comparisons and `Decimal`s come without text, and the nearest double in one step
/// when the integer has at most 15–16 digits (Clinger's fast path: one correctly rounded
/// division of two exact doubles).
struct ScannedDecimal {
    var mantissa: UInt64
    var scale: Int
    var negative: Bool
    /// False when the digits do not fit 64 bits: use ``decimal`` from the text instead.
    var fits: Bool
    var double: Double

    static let powersOfTen: [Double] = (0...22).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    /// Nil when the bytes are not a plain decimal (the same rule as ``DecimalText/parse(_:)``).
    @inline(__always)
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        var i = 0
        let n = bytes.count
        negative = false
        if n > 0, bytes[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var sawDot = false
        var sawDigit = false
        var fits = true
        while i < n {
            let byte = bytes[i]
            if byte >= 48, byte <= 57 {
                sawDigit = true
                if sawDot { scale += 1 }
                if mantissa != 0 || byte != 48 { digits += 1 }
                if digits > 19 {
                    fits = false
                } else {
                    mantissa = mantissa &* 10 &+ UInt64(byte &- 48)
                }
            } else if byte == UInt8(ascii: "."), !sawDot {
                sawDot = true
            } else {
                return nil
            }
            i += 1
        }
        guard sawDigit else { return nil }
        self.mantissa = mantissa
        self.scale = scale
        self.fits = fits
        if negative, mantissa == 0, fits { negative = false }
        if fits, mantissa < 1 << 53, scale <= 22 {
            // 10^scale by multiplication: every step up to 10^22 is exact.
            var power = 1.0
            for _ in 0..<scale { power *= 10 }
            let magnitude = Double(mantissa) / power
            double = negative ? -magnitude : magnitude
        } else {
            double = Double(String(decoding: bytes, as: UTF8.self)) ?? .nan
        }
    }

    /// The exact value (from the integer when it fits, else from the text; nil if `Decimal`
    /// cannot hold it).
    func decimal(text: @autoclosure () -> String) -> Decimal? {
        guard fits else { return DecimalText.parse(text()) }
        return Decimal(sign: negative ? .minus : .plus, exponent: -scale, significand: Decimal(mantissa))
    }

    /// Exact `self <= other`. Doubles decide when they differ (rounding to nearest keeps order);
    /// equal doubles are compared as integers at one scale, or as `Decimal`s when that overflows.
    func isAtMost(_ other: ScannedDecimal, texts: @autoclosure () -> (String, String)) -> Bool {
        if double != other.double { return double < other.double }
        if fits, other.fits, negative == other.negative {
            var (a, b) = (mantissa, other.mantissa)
            var overflow = false
            if scale < other.scale {
                (a, overflow) = a.multipliedReportingOverflow(by: Self.power(other.scale - scale))
            } else if scale > other.scale {
                (b, overflow) = b.multipliedReportingOverflow(by: Self.power(scale - other.scale))
            }
            if !overflow { return negative ? a >= b : a <= b }
        }
        let (mine, theirs) = texts()
        guard let a = decimal(text: mine), let b = other.decimal(text: theirs) else { return false }
        return a <= b
    }

    private static func power(_ exponent: Int) -> UInt64 {
        exponent > 19 ? .max : (0..<exponent).reduce(UInt64(1)) { value, _ in value &* 10 }
    }
}

/// Time fields in the shapes almost every file (and the database) uses, read from bytes: Unix
/// seconds as an integer, and `YYYY-MM-DD` or `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]` in UTC.
/// Nil for anything else (fractional seconds, an offset, an invalid date), which then takes
/// ``CandleCSV/parseTime(_:)``.
enum ScannedTime {
    @inline(__always)
    static func seconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = bytes.count
        guard n > 0 else { return nil }
        @inline(__always) func digit(_ index: Int) -> Int? {
            let byte = bytes[index]
            return byte >= 48 && byte <= 57 ? Int(byte &- 48) : nil
        }
        if n <= 12, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return Double(bytes.reduce(0) { $0 * 10 + Int($1 &- 48) })
        }
        guard n >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for index in from..<(from + count) {
                guard let d = digit(index) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var seconds = 0.0
        if n > 10 {
            guard n >= 19, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                  let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                  hour < 24, minute < 60, second < 60
            else { return nil }
            seconds = Double(hour * 3600 + minute * 60 + second)
            var index = 19
            if index < n, bytes[index] == UInt8(ascii: ".") {
                // A fraction of 1 to 9 digits (`.123` milliseconds as the database stores them).
                var fraction = 0, digits = 0
                index += 1
                while index < n, let d = digit(index), digits < 9 {
                    fraction = fraction * 10 + d
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                seconds += Double(fraction) / ScannedDecimal.powersOfTen[digits]
            }
            if index < n, bytes[index] == UInt8(ascii: "Z") { index += 1 }
            guard index == n else { return nil }
        }
        return Double(daysFromCivil(year: year, month: month, day: day) * 86_400) + seconds
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
