import Foundation

/// Exact decimals as database TEXT: written in plain notation with a `.` separator whatever the
/// locale, read back strictly (a value that is not a plain decimal number is an error, never a
/// silent zero).
enum DecimalText {
    static func string(_ value: Decimal) -> String {
        if fastPathWorks, let text = fastString(value) { return text }
        return value.description
    }

    /// Whether this platform's `Decimal` memory layout is the one ``fastString`` reads (checked
    /// once against `description`; otherwise every value takes the slow path).
    static let fastPathWorks: Bool = {
        let probes = ["0", "1", "-1", "0.5", "-30000.125", "0.00000001", "68123.4", "1000000", "18446744073709551615"]
        return probes.allSatisfy { text in
            let value = Decimal(string: text)!
            return fastString(value) == value.description
        }
    }()

    /// Formats decimals whose mantissa fits 64 bits straight from their storage (exponent byte,
    /// length and sign bits, little-endian 16-bit mantissa words): about ten times faster than
    /// `description`, which the candle upsert path feels. Nil for anything else.
    static func fastString(_ value: Decimal) -> String? {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: value) { raw -> String? in
            let exponent = Int(Int8(bitPattern: raw[0]))
            let length = Int(raw[1] >> 4)
            let negative = raw[1] & 0x08 != 0
            if length == 0 { return negative ? nil : "0" }  // negative with no digits is NaN
            guard length <= 4 else { return nil }
            var mantissa: UInt64 = 0
            for word in 0..<length {
                let bits = UInt64(raw[4 + 2 * word]) | UInt64(raw[5 + 2 * word]) << 8
                mantissa |= bits << (16 * UInt64(word))
            }
            var digits = String(mantissa)
            if exponent > 0 {
                digits += String(repeating: "0", count: exponent)
            } else if exponent < 0 {
                let scale = -exponent
                let count = digits.utf8.count
                if count <= scale { digits = String(repeating: "0", count: scale - count + 1) + digits }
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
            }
            return negative ? "-" + digits : digits
        }
    }

    /// Exact powers of ten as doubles (10^0 ... 10^22 are all exactly representable).
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// `value` as the nearest double when its mantissa is below 2^53 and its exponent within
    /// ±22 (one exact operand, one rounding); nil otherwise.
    static func fastDouble(_ value: Decimal) -> Double? {
        guard fastPathWorks, MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: value) { raw -> Double? in
            let exponent = Int(Int8(bitPattern: raw[0]))
            let length = Int(raw[1] >> 4)
            let negative = raw[1] & 0x08 != 0
            if length == 0 { return negative ? nil : 0 }
            guard length <= 4, abs(exponent) <= 22 else { return nil }
            var mantissa: UInt64 = 0
            for word in 0..<length {
                let bits = UInt64(raw[4 + 2 * word]) | UInt64(raw[5 + 2 * word]) << 8
                mantissa |= bits << (16 * UInt64(word))
            }
            guard mantissa < 1 << 53 else { return nil }
            let magnitude = exponent >= 0 ? Double(mantissa) * powersOfTen[exponent] : Double(mantissa) / powersOfTen[-exponent]
            return negative ? -magnitude : magnitude
        }
    }

    static func decimal(_ text: String?, column: String) throws -> Decimal {
        guard let text, let value = parse(text) else {
            throw StorageError(.corruptValue, "\(column) holds '\(text ?? "NULL")', not a decimal number")
        }
        return value
    }

    /// Parses `-?digits[.digits]` only; rejects exponents, blanks, `NaN` and trailing junk.
    static func parse(_ text: String) -> Decimal? {
        var sawDigit = false
        var sawDot = false
        for (index, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "0"..."9": sawDigit = true
            case "." where !sawDot: sawDot = true
            case "-" where index == 0: continue
            default: return nil
            }
        }
        guard sawDigit else { return nil }
        // Up to 19 significant digits: built from integers, no locale machinery involved.
        var digits = text.utf8.filter { $0 >= 48 && $0 <= 57 }
        let scale = text.utf8.firstIndex(of: UInt8(ascii: ".")).map { text.utf8.distance(from: $0, to: text.utf8.endIndex) - 1 } ?? 0
        while digits.count > 1, digits.first == 48 { digits.removeFirst() }
        if digits.count <= 19 {
            let mantissa = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - 48) }
            return Decimal(sign: text.hasPrefix("-") && mantissa != 0 ? .minus : .plus, exponent: -scale,
                           significand: Decimal(mantissa))
        }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}
