import Foundation

/// Exact decimals as database TEXT: written in plain notation with a `.` separator whatever the
/// locale, read back strictly (a value that is not a plain decimal number is an error, never a
/// silent zero).
enum DecimalText {
    static func string(_ value: Decimal) -> String {
        value.description
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
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}
