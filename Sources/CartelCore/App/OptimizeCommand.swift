import ArgumentParser
import Foundation

/// Options and work of `trading-engine optimize`: one strategy backtested over the same
/// in-memory candles with every combination of the given parameter ranges (or a seeded random
/// sample of them), on all cores, ranked by a metric; or, with `--walk-forward`, chosen on each
/// training window and judged on the window after it.
public struct OptimizeOptions: ParsableArguments {
    @OptionGroup public var source: CandleSourceOptions

    @Option(help: "Strategy: \(StrategyCatalog.kinds.joined(separator: ", ")).")
    public var strategy: String

    @Option(name: .customLong("range"), help: "name=lower:upper:step, name=a,b,c or name=value: the values to try; repeatable.")
    public var ranges: [String] = []

    @Option(name: .customLong("param"), help: "name=value held fixed for every set (strategy or exit settings); repeatable.")
    public var parameters: [String] = []

    @Option(name: .customLong("constraint"), help: "A rule every set must meet: fast<slow, oversold<=30 (<, <=, >, >=); repeatable.")
    public var constraints: [String] = []

    @Option(help: "What ranks the sets: \(OptimizationMetric.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var metric = "sharpe"

    @Option(help: "Try N sets drawn at random from the grid instead of all of it.")
    public var random: Int?

    @Option(help: "Seed of --random (the same seed draws the same sets).")
    public var seed: UInt64 = 1

    @Option(help: "Backtests run at once (default: the number of cores).")
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "How many of the best sets to print.")
    public var top = 10

    @Option(name: .customLong("walk-forward"), help: "train=SPAN,test=SPAN (units m, h, d, w): choose on each training span, test on the span after it.")
    public var walkForward: String?

    @Flag(help: "Print JSON instead of text.")
    public var json = false

    public init() {}

    public func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        if let random, random < 1 || random > 1_000_000 { throw ValidationError("--random must be 1 to 1,000,000") }
        guard OptimizationMetric(rawValue: metric) != nil else {
            throw ValidationError("unknown --metric '\(metric)' (known: \(OptimizationMetric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    public func run(settings: Settings = .environment()) async throws {
        let trading = try TradingConfiguration.forCommand(settings)
        let metric = OptimizationMetric(rawValue: metric)!
        let space: ParameterSpace
        let sets: [[String: Double]], excluded: Int
        let spans: (train: TimeInterval, test: TimeInterval)?
        do {
            space = try ParameterSpace(
                strategy: strategy, ranges: ranges.map(ParameterRange.parse), constraints: constraints.map(ParameterConstraint.parse),
                fixed: try StrategyCatalog.parseParameters(parameters, strategy: strategy))
            (sets, excluded) = try random.map { space.sample($0, seed: seed) } ?? space.grid()
            spans = try walkForward.map(WalkForward.parse)
        } catch let error as OptimizationError {
            throw ValidationError("\(error)")
        } catch let error as StrategyParameter.Invalid {
            throw ValidationError("\(error)")
        }
        guard !sets.isEmpty else {
            throw ValidationError("no parameter set passes the constraints and the strategy's rules (\(excluded) left out)")
        }
        let (candles, pair, minutes) = try await source.load(settings: settings)
        let configuration = BacktestConfiguration(trading: trading, strategy: strategy, pair: pair, intervalMinutes: minutes)
        let clock = ContinuousClock()
        let started = clock.now
        var report = OptimizeReport(
            strategy: strategy, pair: pair, intervalMinutes: minutes, candles: candles.count, metric: metric.rawValue, jobs: jobs,
            sets: sets.count, excluded: excluded, seconds: 0, top: [], walkForward: nil)
        do {
            if let spans {
                let interval = Double(minutes) * 60
                guard spans.train >= interval, spans.test >= interval else {
                    throw ValidationError("--walk-forward \(walkForward!): train and test must each span at least one candle (\(minutes) min)")
                }
                let windows = WalkForward.windows(candles, train: spans.train, test: spans.test, interval: interval)
                guard !windows.isEmpty else {
                    throw ValidationError("--walk-forward \(walkForward!): the candles (\(candles.count), from \(UTCTime.iso8601(candles[0].time, fractional: false))) do not cover one training span and one test span")
                }
                let steps = try WalkForward.run(
                    space: space, sets: sets, candles: candles, configuration: configuration, metric: metric, jobs: jobs, windows: windows)
                report.walkForward = OptimizeReport.WalkForwardPart(train: spans.train, test: spans.test, steps: steps)
            } else {
                let runs = try Optimizer.evaluate(
                    space: space, sets: sets, candles: candles, configuration: configuration, metric: metric, jobs: jobs)
                report.top = runs.prefix(top).enumerated().map { OptimizeReport.Entry(rank: $0.offset + 1, run: $0.element) }
            }
        } catch let error as OptimizationError {
            throw ValidationError("\(error)")
        }
        let elapsed = clock.now - started
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
    }
}

extension TradingConfiguration {
    /// The settings for a command (`backtest`, `optimize`): a bad one is a usage error.
    static func forCommand(_ settings: Settings) throws -> TradingConfiguration {
        do {
            return try TradingConfiguration(settings: settings)
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
    }
}

/// What `optimize` prints.
public struct OptimizeReport: Encodable {
    public struct Entry: Encodable {
        public var rank: Int
        public var parameters: [String: Double]
        public var score: Double?
        public var stats: PerformanceStats
        public var summary: BacktestSummary

        init(rank: Int, run: OptimizationRun) {
            self.rank = rank
            parameters = run.parameters
            score = run.score
            stats = run.stats
            summary = run.summary
        }
    }

    public struct WindowResult: Encodable {
        public var trainStart: Date
        public var testStart: Date
        public var testEnd: Date
        public var trainCandles: Int
        public var testCandles: Int
        public var parameters: [String: Double]
        public var inSampleScore: Double?
        public var outOfSampleScore: Double?
        public var outOfSample: PerformanceStats
        public var outOfSampleReturnPercent: Double
    }

    public struct WalkForwardPart: Encodable {
        public var trainSeconds: Double
        public var testSeconds: Double
        public var windows: [WindowResult]
        /// Out-of-sample totals over every test window.
        public var trades: Int
        public var totalPnL: Decimal
        public var profitableWindows: Int
        /// The test windows' returns compounded, as if each started with the last one's equity.
        public var compoundedReturnPercent: Double

        init(train: TimeInterval, test: TimeInterval, steps: [WalkForward.Step]) {
            trainSeconds = train
            testSeconds = test
            windows = steps.map { step in
                WindowResult(
                    trainStart: step.window.trainStart, testStart: step.window.testStart, testEnd: step.window.testEnd,
                    trainCandles: step.window.train.count, testCandles: step.window.test.count, parameters: step.best.parameters,
                    inSampleScore: step.best.score, outOfSampleScore: step.outOfSample.score, outOfSample: step.outOfSample.stats,
                    outOfSampleReturnPercent: step.outOfSample.summary.totalReturnPercent)
            }
            trades = windows.reduce(0) { $0 + $1.outOfSample.trades }
            totalPnL = windows.reduce(Decimal(0)) { $0 + $1.outOfSample.totalPnL }
            profitableWindows = windows.filter { $0.outOfSample.totalPnL > 0 }.count
            compoundedReturnPercent = (windows.reduce(1.0) { $0 * (1 + $1.outOfSampleReturnPercent / 100) } - 1) * 100
        }
    }

    public var strategy: String
    public var pair: String
    public var intervalMinutes: Int
    public var candles: Int
    public var metric: String
    public var jobs: Int
    public var sets: Int
    public var excluded: Int
    /// Time spent backtesting (after the candles were loaded).
    public var seconds: Double
    public var top: [Entry]
    public var walkForward: WalkForwardPart?

    static func parameters(_ values: [String: Double]) -> String {
        values.keys.sorted().map { "\($0)=\(NumberText.plain(values[$0]!))" }.joined(separator: " ")
    }

    static func score(_ value: Double?) -> String { value.map(NumberText.hundredths) ?? "-" }

    static func pad(_ text: String, _ width: Int) -> String { BacktestReport.pad(text, width) }

    public var text: String {
        var lines = [
            "optimize \(strategy) on \(pair) \(intervalMinutes)m: \(candles) candles, \(sets) parameter sets"
                + (excluded > 0 ? " (\(excluded) left out by constraints or the strategy's rules)" : "")
                + ", metric \(metric); backtested in \(NumberText.hundredths(seconds)) s on \(jobs) job\(jobs == 1 ? "" : "s")",
        ]
        if let walk = walkForward {
            lines.append("walk-forward: choose on \(Self.span(walk.trainSeconds)), test on the next \(Self.span(walk.testSeconds)); \(walk.windows.count) windows (out-of-sample figures are the test spans only)")
            lines.append("test from             test to               in-sample  out-of-sample  trades  P&L         return%  parameters")
            for window in walk.windows {
                lines.append([
                    Self.pad(UTCTime.iso8601(window.testStart, fractional: false), 21), Self.pad(UTCTime.iso8601(window.testEnd, fractional: false), 21),
                    Self.pad(Self.score(window.inSampleScore), 10), Self.pad(Self.score(window.outOfSampleScore), 14),
                    Self.pad("\(window.outOfSample.trades)", 7), Self.pad("\(window.outOfSample.totalPnL.rounded(2, .plain))", 11),
                    Self.pad(NumberText.hundredths(window.outOfSampleReturnPercent), 8), Self.parameters(window.parameters),
                ].joined(separator: " "))
            }
            lines.append("out of sample: \(walk.trades) trades, P&L \(walk.totalPnL.rounded(2, .plain)), \(walk.profitableWindows) of \(walk.windows.count) windows profitable, compounded return \(NumberText.hundredths(walk.compoundedReturnPercent))%")
        } else {
            lines.append("rank  \(Self.pad(metric, 13)) trades  win%    P&L         return%  max DD%  parameters")
            for entry in top {
                lines.append([
                    Self.pad("\(entry.rank)", 5), Self.pad(Self.score(entry.score), 13), Self.pad("\(entry.stats.trades)", 7),
                    Self.pad(entry.stats.winRatePercent.map(NumberText.hundredths) ?? "-", 7),
                    Self.pad("\(entry.stats.totalPnL.rounded(2, .plain))", 11), Self.pad(NumberText.hundredths(entry.summary.totalReturnPercent), 8),
                    Self.pad(NumberText.hundredths(entry.stats.maxDrawdownPercent), 8), Self.parameters(entry.parameters),
                ].joined(separator: " "))
            }
            lines.append("(in-sample: the best set on these candles is a fit to them; --walk-forward tests choices on data they were not chosen on)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func span(_ seconds: Double) -> String {
        for (unit, size) in [("w", 604_800.0), ("d", 86_400), ("h", 3_600), ("m", 60)] where seconds >= size && seconds.truncatingRemainder(dividingBy: size) == 0 {
            return "\(Int(seconds / size))\(unit)"
        }
        return "\(Int(seconds))s"
    }
}
