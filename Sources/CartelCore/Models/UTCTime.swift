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
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
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

    private static func pad(_ value: Int64, _ width: Int, _ text: inout String) {
        let digits = String(value)
        if digits.utf8.count < width { text += String(repeating: "0", count: width - digits.utf8.count) }
        text += digits
    }
}
