import Foundation

// MARK: - Scales and axes

extension SVGChart {
    enum Scale {
        /// The data range with 6 % air above and below; a flat range is widened around its value.
        static func padded(_ low: Double, _ high: Double) -> (Double, Double) {
            let span = high - low
            guard span.isFinite else { return (low, low + 1) }  // beyond what a chart can scale: draw something, not crash
            if span > abs(high) * 1e-12, span > 0 { return (low - span * 0.06, high + span * 0.06) }
            let air = low == 0 ? 1 : abs(low) * 0.05
            return (low - air, high + air)
        }

        /// 4–6 round ticks (5 or 4 when possible) whose first and last enclose the data, and the
        /// axis range they span.
        static func snapped(_ low: Double, _ high: Double) -> (ticks: [Double], low: Double, high: Double) {
            var (low, high) = (low, high)
            if !(high - low > abs(high) * 1e-12) { (low, high) = padded(low, high) }
            guard (high - low).isFinite, high > low else { return ([low], low, low + 1) }
            let exponent = (log10(high - low) - 1).rounded(.down)
            var best: (ticks: [Double], score: Double)?
            for power in 0..<4 {
                for mantissa in [1.0, 2, 2.5, 5] {
                    let step = mantissa * pow(10, exponent + Double(power) - 1)
                    let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
                    let count = Int(last - first) + 1
                    guard count >= 2, count <= 12 else { continue }
                    let score = count == 5 ? 0 : count == 4 ? 1 : count == 6 ? 2 : Double(3 + abs(count - 5))
                    if best == nil || score < best!.score {
                        best = ((0..<count).map { (first + Double($0)) * step }, score)
                    }
                }
            }
            guard let ticks = best?.ticks, let lowest = ticks.first, let highest = ticks.last else { return ([low], low, high) }
            return (ticks, lowest, highest)
        }

        /// The caller's oscillator range, or the data's when the caller's is empty or not finite.
        static func oscillatorRange(_ a: Double, _ b: Double, values: [Double?]) -> (Double, Double) {
            if a.isFinite, b.isFinite, b > a { return (a, b) }
            let finite = values.compactMap { $0 }
            guard let low = finite.min(), let high = finite.max() else { return (0, 1) }
            return high > low ? (low, high) : padded(low, high)
        }

        /// Multiples of a round step (1, 2, 2.5 or 5 × 10ⁿ) inside `low...high`, 4 or 5 of them
        /// when such a step exists.
        static func ticks(_ low: Double, _ high: Double) -> [Double] {
            let span = high - low
            guard span > 0, span.isFinite else { return [low] }
            let exponent = (log10(span) - 1).rounded(.down)
            var best: (step: Double, count: Int)?
            for power in 0..<4 {
                for mantissa in [1.0, 2, 2.5, 5] {
                    let step = mantissa * pow(10, exponent + Double(power) - 1)
                    let count = Int((high / step).rounded(.down) - (low / step).rounded(.up)) + 1
                    let score = count >= 4 && count <= 5 ? 0 : abs(Double(count) - 4.5)
                    let bestScore = best.map { $0.count >= 4 && $0.count <= 5 ? 0 : abs(Double($0.count) - 4.5) } ?? .infinity
                    if count >= 1, count <= 50, score < bestScore { best = (step, count) }
                }
            }
            guard let best else { return [low] }
            let first = (low / best.step).rounded(.up)
            return (0..<best.count).map { (first + Double($0)) * best.step }
        }

        /// A value with as many decimals as `step` needs (three significant digits of it at
        /// most) and thousands separated by commas.
        static func label(_ value: Double, step: Double) -> String {
            var decimals = 0
            let scaled = abs(step)
            let most = scaled > 0 && scaled.isFinite ? min(12, max(0, 2 - Int(log10(scaled).rounded(.down)))) : 0
            while decimals < most {
                let shifted = scaled * pow(10, Double(decimals))
                if abs(shifted - shifted.rounded()) < 1e-6 * max(1, shifted) { break }
                decimals += 1
            }
            let text = String(format: "%.\(decimals)f", value == 0 ? 0 : value)
            let negative = text.hasPrefix("-")
            let body = negative ? String(text.dropFirst()) : text
            let parts = body.split(separator: ".", maxSplits: 1)
            var whole = Array(parts[0])
            var grouped = ""
            while whole.count > 3 {
                grouped = "," + String(whole.suffix(3)) + grouped
                whole.removeLast(3)
            }
            grouped = String(whole) + grouped
            let result = grouped + (parts.count > 1 ? "." + parts[1] : "")
            return (negative && result.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) ? "-" : "") + result
        }
    }

    struct TimeLabel {
        var x: Double
        var time: Double
        var anchor: String
    }

    enum TimeAxis {
        static let steps: [Double] = [
            60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800, 1_209_600, 2_592_000, 7_776_000,
            31_536_000, 157_680_000,
        ]

        /// Labels at round UTC times between `t0` and `t1` on a time-proportional axis.
        static func proportional(from t0: Double, to t1: Double, left: Double, right: Double, x: (Double) -> Double) -> [TimeLabel] {
            guard t1 > t0 else { return finish([(x(t0), t0)], left: left, right: right) }
            var times: [Double] = []
            for step in steps {
                let first = (t0 / step).rounded(.up), last = (t1 / step).rounded(.down)
                if last - first + 1 <= 6 {
                    times = stride(from: first, through: last, by: 1).map { $0 * step }
                    break
                }
            }
            if times.count < 3 { times = [t0, (t0 + t1) / 2, t1].map { ($0 / 60).rounded() * 60 } }
            return finish(times.map { (x($0), $0) }, left: left, right: right)
        }

        /// Labels at the first candle (or bucket) of each round UTC period on a candle-sequence
        /// axis, naming the round time that starts the period.
        static func sequence(_ dates: [Date], x: (Int) -> Double, left: Double, right: Double) -> [TimeLabel] {
            let times = dates.map(\.timeIntervalSince1970)
            var chosen: [(index: Int, time: Double)] = []
            for step in steps {
                var found: [(index: Int, time: Double)] = []
                for index in times.indices {
                    let period = (times[index] / step).rounded(.down)
                    if index == 0 ? times[0] == period * step : period != (times[index - 1] / step).rounded(.down) {
                        found.append((index, index == 0 ? times[0] : max(period * step, times[index - 1])))
                    }
                }
                if found.count <= 6 {
                    chosen = found
                    break
                }
            }
            if chosen.count < 3 {
                let count = min(times.count, 3)
                chosen = (count == 1 ? [0] : (0..<count).map { ($0 * (times.count - 1)) / (count - 1) }).map { ($0, times[$0]) }
            }
            return finish(chosen.map { (x($0.index), $0.time) }, left: left, right: right)
        }

        /// Drops labels too close to the previous one and anchors those near an edge inward.
        static func finish(_ labels: [(x: Double, time: Double)], left: Double, right: Double) -> [TimeLabel] {
            let gap = (right - left) / 8
            var kept: [TimeLabel] = []
            for label in labels {
                if let previous = kept.last, label.x - previous.x < gap { continue }
                let anchor = labels.count == 1 ? "middle" : label.x - left < 60 ? "start" : right - label.x < 60 ? "end" : "middle"
                kept.append(TimeLabel(x: label.x, time: label.time, anchor: anchor))
            }
            return kept
        }

        /// `(ISO 8601 UTC, "MM-DD HH:mm")` for a Unix time (formatted by ``UTCTime``).
        static func text(_ time: Double) -> (iso: String, short: String) {
            let iso = UTCTime.iso8601(Date(timeIntervalSince1970: min(max(time, -1e14), 1e14).rounded(.down)), fractional: false)
            // `YYYY-MM-DDTHH:MM:SSZ`: the month-day and hour-minute parts.
            let characters = Array(iso)
            guard characters.count >= 20 else { return (iso, iso) }
            let end = characters.count
            let short = String(characters[(end - 15)..<(end - 10)]) + " " + String(characters[(end - 9)..<(end - 4)])
            return (iso, short)
        }
    }
}
