import Foundation

/// A mistake in an optimisation request (a range, a constraint, a metric, a window), with a
/// message naming it.
public struct OptimizationError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// The values one parameter takes: `name=lower:upper:step` (both ends included when the steps
/// reach them), `name=a,b,c`, or `name=value`.
public struct ParameterRange: Sendable, Equatable {
    public var name: String
    public var values: [Double]

    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }

    public static func parse(_ text: String) throws -> ParameterRange {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw OptimizationError("--range '\(text)': expected name=lower:upper:step, name=a,b,c or name=value")
        }
        let name = parts[0], spec = parts[1]
        func number(_ piece: Substring) throws -> Double {
            guard let value = Double(piece.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw OptimizationError("--range \(name): '\(piece)' is not a number")
            }
            return value
        }
        if spec.contains(":") {
            let bounds = try spec.split(separator: ":", omittingEmptySubsequences: false).map(number)
            guard bounds.count == 3 else { throw OptimizationError("--range \(name): expected lower:upper:step, got '\(spec)'") }
            let (lower, upper, step) = (bounds[0], bounds[1], bounds[2])
            guard step > 0 else { throw OptimizationError("--range \(name): the step must be above 0, got \(step)") }
            guard lower <= upper else { throw OptimizationError("--range \(name): lower \(lower) is above upper \(upper)") }
            let steps = ((upper - lower) / step + 1e-9).rounded(.down)
            guard steps.isFinite, steps < 10_000 else {
                throw OptimizationError("--range \(name): more than 10,000 values; at most 10,000 per parameter")
            }
            let count = Int(steps) + 1
            // Multiples of the step from the lower end, rounded so 0.1 steps do not drift.
            return ParameterRange(name: name, values: (0..<count).map { (((lower + Double($0) * step) * 1e9).rounded()) / 1e9 })
        }
        let values = try spec.split(separator: ",").map(number)
        guard !values.isEmpty else { throw OptimizationError("--range \(name): no values in '\(spec)'") }
        guard Set(values).count == values.count else { throw OptimizationError("--range \(name): a value is listed twice") }
        return ParameterRange(name: name, values: values)
    }
}

/// `left<right`, `left<=right`, `left>right` or `left>=right` between two parameters or a
/// parameter and a number (`fast<slow`, `oversold>=20`).
public struct ParameterConstraint: Sendable, Equatable {
    public enum Relation: String, Sendable, CaseIterable { case atMost = "<=", atLeast = ">=", below = "<", above = ">" }

    public var left: String
    public var relation: Relation
    public var right: String
    public let text: String

    public static func parse(_ text: String) throws -> ParameterConstraint {
        let compact = text.replacingOccurrences(of: " ", with: "")
        for relation in Relation.allCases {  // two-character relations first
            guard let range = compact.range(of: relation.rawValue) else { continue }
            let left = String(compact[..<range.lowerBound]), right = String(compact[range.upperBound...])
            guard !left.isEmpty, !right.isEmpty else { break }
            return ParameterConstraint(left: left, relation: relation, right: right, text: compact)
        }
        throw OptimizationError("--constraint '\(text)': expected a<b, a<=b, a>b or a>=b between parameters or numbers")
    }

    /// The names the constraint reads (sides that are not numbers).
    public var names: [String] { [left, right].filter { Double($0) == nil } }

    public func holds(_ parameters: [String: Double]) -> Bool {
        guard let a = parameters[left] ?? Double(left), let b = parameters[right] ?? Double(right) else { return false }
        switch relation {
        case .below: return a < b
        case .atMost: return a <= b
        case .above: return a > b
        case .atLeast: return a >= b
        }
    }
}

/// What ranks parameter sets: higher is better for all four.
public enum OptimizationMetric: String, Sendable, CaseIterable {
    case sharpe
    case profit
    case profitFactor = "profit-factor"
    case calmar

    /// The score of a backtest; nil when the metric is undefined for it (no trades, no loss for
    /// the profit factor, no drawdown for Calmar): such sets rank below every scored one.
    public func score(_ summary: BacktestSummary, stats: PerformanceStats) -> Double? {
        guard stats.trades > 0 else { return nil }
        switch self {
        case .sharpe: return summary.sharpe
        case .profit: return stats.totalPnL.doubleValue
        case .profitFactor: return summary.profitFactor
        case .calmar: return summary.calmar
        }
    }
}

/// The sets of parameters to try: every combination of the ranges (or a sample of them), with
/// the rest of the strategy's parameters at their defaults or as fixed by `--param`.
public struct ParameterSpace: Sendable {
    public var strategy: String
    public var ranges: [ParameterRange]
    public var constraints: [ParameterConstraint]
    public var fixed: [String: Double]

    /// Checks names, values and constraints against the strategy (and its exit settings).
    public init(strategy: String, ranges: [ParameterRange], constraints: [ParameterConstraint], fixed: [String: Double]) throws {
        let type: any Strategy.Type
        do {
            type = try StrategyCatalog.type(named: strategy)
        } catch {
            throw OptimizationError("\(error)")
        }
        guard !ranges.isEmpty else { throw OptimizationError("give at least one --range name=lower:upper:step") }
        let known = type.parameters.map(\.name) + ExitRules.parameterNames.sorted()
        var seen: Set<String> = []
        for range in ranges {
            guard known.contains(range.name) else {
                throw OptimizationError("\(strategy) has no parameter '\(range.name)' (parameters: \(known.joined(separator: ", ")))")
            }
            guard seen.insert(range.name).inserted, fixed[range.name] == nil else {
                throw OptimizationError("\(range.name) is given twice (a --range and another --range or --param)")
            }
            // Each value alone, the others at their defaults: out-of-range values and fractions
            // for whole-number parameters are errors here, not silently skipped sets.
            if let parameter = type.parameters.first(where: { $0.name == range.name }) {
                for value in range.values {
                    guard parameter.range.contains(value) else {
                        throw OptimizationError("--range \(range.name): \(NumberText.plain(value)) is outside \(NumberText.plain(parameter.range.lowerBound))...\(NumberText.plain(parameter.range.upperBound))")
                    }
                    guard !parameter.isInteger || value == value.rounded() else {
                        throw OptimizationError("--range \(range.name): \(NumberText.plain(value)) is not a whole number")
                    }
                }
            } else {
                for value in range.values {
                    do {
                        _ = try ExitRules().overridden(by: [range.name: value], strategy: strategy)
                    } catch {
                        throw OptimizationError("--range \(range.name): \(error)")
                    }
                }
            }
        }
        for constraint in constraints {
            for name in constraint.names where !known.contains(name) {
                throw OptimizationError("--constraint \(constraint.text): \(strategy) has no parameter '\(name)'")
            }
        }
        self.strategy = strategy
        self.ranges = ranges
        self.constraints = constraints
        self.fixed = fixed
        self.type = type
    }

    let type: any Strategy.Type

    /// How many combinations the ranges make (before constraints).
    public var size: Int { ranges.reduce(1) { $0.multipliedReportingOverflow(by: $1.values.count).overflow ? .max : $0 * $1.values.count } }

    /// The combination at `index` in the grid's order (the last range varies fastest).
    func combination(_ index: Int) -> [String: Double] {
        var parameters = fixed
        var rest = index
        for range in ranges.reversed() {
            parameters[range.name] = range.values[rest % range.values.count]
            rest /= range.values.count
        }
        return parameters
    }

    /// Whether a set passes the constraints and the strategy's own rules (`fast` below `slow`).
    /// Every parameter a constraint names is read with its default when not set.
    func accepts(_ parameters: [String: Double]) -> Bool {
        guard (try? StrategyCatalog.validate(type, parameters: parameters)) != nil else { return false }
        var all = parameters
        for parameter in type.parameters where all[parameter.name] == nil { all[parameter.name] = parameter.defaultValue }
        return constraints.allSatisfy { $0.holds(all) }
    }

    /// Every combination that passes, in grid order, and how many were left out.
    public func grid(limit: Int = 1_000_000) throws -> (sets: [[String: Double]], excluded: Int) {
        guard size <= limit else {
            throw OptimizationError("the ranges make \(size == .max ? "too many" : "\(size)") combinations (at most \(limit)); narrow them or sample with --random N")
        }
        let all = (0..<size).map(combination)
        let sets = all.filter(accepts)
        return (sets, all.count - sets.count)
    }

    /// Up to `count` distinct combinations drawn from the grid with a seeded generator (the same
    /// seed draws the same sets), each passing the constraints.
    public func sample(_ count: Int, seed: UInt64) -> (sets: [[String: Double]], excluded: Int) {
        if size <= count, let whole = try? grid() { return whole }
        var generator = SplitMix64(seed: seed)
        var chosen: Set<Int> = []
        var sets: [[String: Double]] = []
        var excluded = 0
        // Bounded attempts: with tight constraints most draws may fail.
        var attempts = 0
        let maximumAttempts = count > Int.max / 50 ? Int.max : count * 50
        while sets.count < count, attempts < maximumAttempts {
            attempts += 1
            let index = Int(generator.next() % UInt64(size))
            guard chosen.insert(index).inserted else { continue }
            let parameters = combination(index)
            if accepts(parameters) { sets.append(parameters) } else { excluded += 1 }
        }
        return (sets, excluded)
    }
}

/// A small seeded generator (SplitMix64) so a `--random` search can be repeated exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One parameter set's backtest in an optimisation.
public struct OptimizationRun: Sendable {
    public var parameters: [String: Double]
    public var score: Double?
    public var stats: PerformanceStats
    public var summary: BacktestSummary
}

/// Runs one strategy over the same in-memory candles with many parameter sets, in parallel.
public enum Optimizer {
    /// Every set backtested (on up to `jobs` cores), best first by `metric`; sets the metric
    /// cannot score come last, and ties keep the grid's order.
    public static func evaluate(
        space: ParameterSpace, sets: [[String: Double]], candles: [StrategyCandle], configuration: BacktestConfiguration,
        metric: OptimizationMetric, jobs: Int
    ) throws -> [OptimizationRun] {
        let results = parallelMap(sets.count, jobs: jobs) { index -> Result<OptimizationRun, OptimizationError> in
            do {
                let result = try Backtester.run(
                    kind: space.strategy, parameters: sets[index], candles: candles, configuration: configuration)
                let summary = BacktestSummary(result, intervalMinutes: configuration.intervalMinutes)
                return .success(OptimizationRun(
                    parameters: sets[index], score: metric.score(summary, stats: result.stats), stats: result.stats, summary: summary))
            } catch {
                return .failure(OptimizationError("\(error)"))
            }
        }
        let runs = try results.map { try $0.get() }
        return runs.enumerated().sorted { a, b in
            switch (a.element.score, b.element.score) {
            case let (x?, y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)
    }
}

/// Walk-forward analysis: the candles cut into consecutive windows, each a training span
/// followed by a test span; the parameters are chosen on the training candles alone and then
/// run, unchanged, on the test candles that follow. The test results are out of sample.
public enum WalkForward {
    public struct Window: Sendable, Equatable {
        public var trainStart: Date
        public var testStart: Date
        public var testEnd: Date
        /// Index ranges into the candles.
        public var train: Range<Int>
        public var test: Range<Int>
    }

    public struct Step: Sendable {
        public var window: Window
        /// The best set on the training candles and its in-sample score.
        public var best: OptimizationRun
        /// The same parameters on the test candles (out of sample).
        public var outOfSample: OptimizationRun
    }

    /// Parses `train=90d,test=30d` (units m, h, d, w).
    public static func parse(_ text: String) throws -> (train: TimeInterval, test: TimeInterval) {
        var train: TimeInterval?, test: TimeInterval?
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let span = duration(parts[1]) else {
                throw OptimizationError("--walk-forward '\(text)': expected train=90d,test=30d (units m, h, d, w; each at least 1m)")
            }
            switch parts[0] {
            case "train": train = span
            case "test": test = span
            default: throw OptimizationError("--walk-forward: unknown part '\(parts[0])' (expected train and test)")
            }
        }
        guard let train, let test else { throw OptimizationError("--walk-forward '\(text)': give both train= and test=") }
        return (train, test)
    }

    /// A span of at least one minute (a shorter one would make windows of no candles, or
    /// millions of them).
    static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let count = Double(text.dropLast()), count.isFinite else { return nil }
        let seconds: Double
        switch unit {
        case "m": seconds = count * 60
        case "h": seconds = count * 3_600
        case "d": seconds = count * 86_400
        case "w": seconds = count * 604_800
        default: return nil
        }
        return seconds >= 60 && seconds < 1e11 ? seconds : nil
    }

    /// Windows over candles sorted by time: training `[t, t + train)`, testing
    /// `[t + train, t + train + test)`, then `t` moves on by `test`. A window whose test span
    /// runs past the end of the last candle (its open plus `interval`) is left out.
    public static func windows(
        _ candles: [StrategyCandle], train: TimeInterval, test: TimeInterval, interval: TimeInterval
    ) -> [Window] {
        guard candles.count >= 2, let first = candles.first?.time, train > 0, test > 0 else { return [] }
        let end = candles[candles.count - 1].time.addingTimeInterval(interval)
        var windows: [Window] = []
        var start = first
        func index(_ time: Date) -> Int {  // first candle at or after `time`
            var low = 0, high = candles.count
            while low < high {
                let mid = (low + high) / 2
                if candles[mid].time < time { low = mid + 1 } else { high = mid }
            }
            return low
        }
        while true {
            let testStart = start.addingTimeInterval(train), testEnd = testStart.addingTimeInterval(test)
            guard testEnd <= end else { break }
            let window = Window(
                trainStart: start, testStart: testStart, testEnd: testEnd, train: index(start)..<index(testStart),
                test: index(testStart)..<index(testEnd))
            if !window.train.isEmpty, window.test.count >= 2 { windows.append(window) }
            start = start.addingTimeInterval(test)
        }
        return windows
    }

    /// Chooses on each window's training candles and tests on its test candles. The choice for a
    /// window is made from `candles[window.train]` only.
    public static func run(
        space: ParameterSpace, sets: [[String: Double]], candles: [StrategyCandle], configuration: BacktestConfiguration,
        metric: OptimizationMetric, jobs: Int, windows: [Window]
    ) throws -> [Step] {
        try windows.map { window in
            let training = Array(candles[window.train])
            guard let best = try Optimizer.evaluate(
                space: space, sets: sets, candles: training, configuration: configuration, metric: metric, jobs: jobs
            ).first else { throw OptimizationError("no parameter set to choose from") }
            let testing = Array(candles[window.test])
            let outOfSample = try Optimizer.evaluate(
                space: space, sets: [best.parameters], candles: testing, configuration: configuration, metric: metric, jobs: 1)[0]
            return Step(window: window, best: best, outOfSample: outOfSample)
        }
    }
}
