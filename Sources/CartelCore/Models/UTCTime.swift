import Foundation

/// UTC timestamps computed with integer arithmetic. Foundation's date formatting looks up the
/// local time zone through ICU on first use, which maps megabytes of ICU data into every service
/// that logs a line; these need none of it.
public enum UTCTime {
    /// ISO 8601 as logs and JSON use it: `2026-11-25T21:07:02.123Z` (`fractional: false` drops
    /// the milliseconds: `2026-11-25T21:07:02Z`).
    public static func iso8601(_ date: Date, fractional: Bool = true) -> String {
        var text = string(date, separator: "T", milliseconds: fractional)
        text += "Z"
        return text
    }

    /// `YYYY-MM-DD HH:MM:SS.SSS` to the nearest millisecond: GRDB's storage format for dates.
    static func sqlite(_ date: Date) -> String { string(date, separator: " ", milliseconds: true) }

    static func string(_ date: Date, separator: String, milliseconds: Bool) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = Int64(interval.rounded(.down))
        var millis = milliseconds ? Int64(((interval - Double(seconds)) * 1000).rounded()) : 0
        if millis >= 1000 {
            millis -= 1000
            seconds += 1
        }
        let (year, month, day, secondOfDay) = civil(seconds)
        var text = ""
        text.reserveCapacity(23)
        pad(year, 4, &text)
        text += "-"
        pad(month, 2, &text)
        text += "-"
        pad(day, 2, &text)
        text += separator
        pad(secondOfDay / 3600, 2, &text)
        text += ":"
        pad(secondOfDay / 60 % 60, 2, &text)
        text += ":"
        pad(secondOfDay % 60, 2, &text)
        if milliseconds {
            text += "."
            pad(millis, 3, &text)
        }
        return text
    }

    /// The civil date and second of the day of a Unix time in whole seconds.
    static func civil(_ seconds: Int64) -> (year: Int64, month: Int64, day: Int64, secondOfDay: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day, seconds - days * 86_400)
    }

    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The HTTP `Date` form (RFC 9110 IMF-fixdate) of a Unix time in whole seconds:
    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ seconds: Int64) -> String {
        let (year, month, day, secondOfDay) = civil(seconds)
        let weekday = (seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400) % 7
        var text = weekdays[Int(weekday < 0 ? weekday + 7 : weekday)] + ", "
        pad(day, 2, &text)
        text += " " + monthNames[Int(month) - 1] + " "
        pad(year, 4, &text)
        text += " "
        pad(secondOfDay / 3600, 2, &text)
        text += ":"
        pad(secondOfDay / 60 % 60, 2, &text)
        text += ":"
        pad(secondOfDay % 60, 2, &text)
        return text + " GMT"
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or a `±HH:MM` offset (a
    /// space may replace the `T`); nil for anything else, including impossible dates.
    public static func parseISO8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += width
            return value
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == character else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        var fraction = 0.0
        if index == bytes.count { return Date(timeIntervalSince1970: Double(seconds)) }
        guard expect(84) || expect(32), let hour = number(2), hour < 24, expect(58), let minute = number(2), minute < 60 else { return nil }
        seconds += hour * 3600 + minute * 60
        if expect(58) {
            guard let second = number(2), second < 60 else { return nil }
            seconds += second
            if expect(46) {
                var scale = 0.1
                let start = index
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    fraction += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
                guard index > start else { return nil }
            }
        }
        if expect(90) {
            // UTC
        } else if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
            let sign: Int64 = bytes[index] == 43 ? 1 : -1
            index += 1
            guard let offsetHours = number(2), offsetHours < 24, expect(58), let offsetMinutes = number(2), offsetMinutes < 60 else { return nil }
            seconds -= sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int64, _ width: Int, _ text: inout String) {
        let digits = String(value)
        if digits.utf8.count < width { text += String(repeating: "0", count: width - digits.utf8.count) }
        text += digits
    }
}
