@testable import CartelCore
import Foundation
import TestSupport
import Testing

@Suite struct OptimizerTests {
    /// Hourly candles with trends that turn every few days and a deterministic wobble: different
    /// moving-average lengths trade differently on them.
    static func candles(_ count: Int, start: Double = 1_700_000_000) -> [StrategyCandle] {
        var price = 100.0
        return (0..<count).map { index in
            let open = price
            price *= 1 + 0.004 * sin(Double(index) / 37) + 0.003 * sin(Double(index) * 1.7)
            return StrategyCandle(
                time: Date(timeIntervalSince1970: start + Double(index) * 3_600), open: open, high: max(open, price) * 1.002,
                low: min(open, price) * 0.998, close: price, volume: 1)
        }
    }

    static let configuration = BacktestConfiguration(strategyKey: "sma-cross", pair: "TEST/USD", intervalMinutes: 60)

    static func space(_ ranges: [String], constraints: [String] = [], strategy: String = "sma-cross") throws -> ParameterSpace {
        try ParameterSpace(
            strategy: strategy, ranges: ranges.map(ParameterRange.parse), constraints: constraints.map(ParameterConstraint.parse),
            fixed: [:])
    }

    @Test func theBestSetIsExactlyWhatAPlainBacktestWithItGives() throws {
        let candles = Self.candles(3_000)
        let space = try Self.space(["fast=3:15:3", "slow=10:60:10"], constraints: ["fast<slow"])
        let (sets, _) = try space.grid()
        for metric in OptimizationMetric.allCases {
            let runs = try Optimizer.evaluate(
                space: space, sets: sets, candles: candles, configuration: Self.configuration, metric: metric, jobs: 2)
            let best = try #require(runs.first)
            let plain = try Backtester.run(kind: "sma-cross", parameters: best.parameters, candles: candles, configuration: Self.configuration)
            #expect(best.stats == plain.stats, "\(metric)")
            #expect(best.summary == BacktestSummary(plain, intervalMinutes: 60))
            // Best really is best: no other set scores higher.
            let scores = runs.compactMap(\.score)
            #expect(best.score == scores.max(), "\(metric)")
            #expect(scores == scores.sorted(by: >))
        }
    }

    @Test func oneJobAndManyJobsRankTheSameSetsTheSameWay() throws {
        let candles = Self.candles(2_000)
        let space = try Self.space(["fast=2:12:2", "slow=15:45:5"])
        let (sets, excluded) = try space.grid()
        #expect(sets.count + excluded == 6 * 7)
        let one = try Optimizer.evaluate(space: space, sets: sets, candles: candles, configuration: Self.configuration, metric: .profit, jobs: 1)
        let many = try Optimizer.evaluate(space: space, sets: sets, candles: candles, configuration: Self.configuration, metric: .profit, jobs: 4)
        #expect(one.map(\.parameters) == many.map(\.parameters))
        #expect(one.map(\.stats) == many.map(\.stats))
        #expect(Set(one.map(\.parameters)).count == sets.count)
    }

    @Test func walkForwardChoosesOnTrainingCandlesOnly() throws {
        let candles = Self.candles(24 * 120)
        let windows = WalkForward.windows(candles, train: 30 * 86_400, test: 15 * 86_400, interval: 3_600)
        #expect(windows.count == 6)
        for (window, next) in zip(windows, windows.dropFirst()) {
            #expect(next.testStart == window.testEnd)  // test spans follow each other without overlap
        }
        for window in windows {
            #expect(window.train.upperBound <= window.test.lowerBound)
            #expect(candles[window.train].allSatisfy { $0.time < window.testStart })
            #expect(candles[window.test].allSatisfy { $0.time >= window.testStart && $0.time < window.testEnd })
        }
        let space = try Self.space(["fast=2:10:2", "slow=12:36:6"])
        let (sets, _) = try space.grid()
        let steps = try WalkForward.run(
            space: space, sets: sets, candles: candles, configuration: Self.configuration, metric: .sharpe, jobs: 2, windows: windows)
        // Scramble everything from each test span on: the choice for that window must not move.
        for step in steps {
            var scrambled = candles
            for index in step.window.test.lowerBound..<scrambled.count {
                scrambled[index].close *= index % 2 == 0 ? 1.5 : 0.6
                scrambled[index].high = max(scrambled[index].high, scrambled[index].close)
                scrambled[index].low = min(scrambled[index].low, scrambled[index].close)
            }
            let again = try WalkForward.run(
                space: space, sets: sets, candles: scrambled, configuration: Self.configuration, metric: .sharpe, jobs: 2, windows: [step.window])
            #expect(again[0].best.parameters == step.best.parameters)
            #expect(again[0].best.stats == step.best.stats)
            #expect(again[0].outOfSample.stats != step.outOfSample.stats)
            // The out-of-sample run is the chosen set on the test candles alone.
            let plain = try Backtester.run(
                kind: "sma-cross", parameters: step.best.parameters, candles: Array(candles[step.window.test]), configuration: Self.configuration)
            #expect(plain.stats == step.outOfSample.stats)
        }
    }

    @Test func rangesConstraintsAndMetricsParseAndBadOnesAreClearErrors() throws {
        #expect(try ParameterRange.parse("fast=5:30:5").values == [5, 10, 15, 20, 25, 30])
        #expect(try ParameterRange.parse("oversold=20:30:2.5").values == [20, 22.5, 25, 27.5, 30])
        #expect(try ParameterRange.parse("width=0.1:0.5:0.1").values == [0.1, 0.2, 0.3, 0.4, 0.5])
        #expect(try ParameterRange.parse("slow=50").values == [50])
        #expect(try ParameterRange.parse("slow=20,50,80").values == [20, 50, 80])
        for (bad, message) in [
            ("fast", "expected name=lower:upper:step"), ("fast=5:1:1", "lower 5.0 is above upper 1.0"),
            ("fast=1:5:0", "the step must be above 0"), ("fast=1:5", "expected lower:upper:step"), ("fast=a:5:1", "'a' is not a number"),
            ("fast=1,1", "listed twice"), ("fast=0:1000000:1", "at most 10,000"), ("fast=0:1e19:1", "at most 10,000"),
            ("fast=0:1e300:1e-300", "at most 10,000"), ("fast=,", "no values"),
        ] {
            let error = #expect(throws: OptimizationError.self) { try ParameterRange.parse(bad) }
            #expect(error?.message.contains(message) == true, "\(bad): \(String(describing: error))")
        }
        let constraint = try ParameterConstraint.parse("fast <= slow")
        #expect(constraint.holds(["fast": 5, "slow": 5]) && !constraint.holds(["fast": 6, "slow": 5]))
        #expect(try ParameterConstraint.parse("oversold>25").holds(["oversold": 30]))
        #expect(throws: OptimizationError.self) { try ParameterConstraint.parse("fast=slow") }
        #expect(throws: OptimizationError.self) { try ParameterConstraint.parse("<slow") }

        for (ranges, constraints, message) in [
            (["fats=1:5:1"], [String](), "sma-cross has no parameter 'fats'"),
            (["fast=1:5:1"], [], "1 is outside 2...500"),
            (["fast=2.5"], [], "2.5 is not a whole number"),
            (["fast=2:5:1", "fast=3"], [], "fast is given twice"),
            (["fast=2:5:1"], ["fast<slwo"], "no parameter 'slwo'"),
            ([], [], "at least one --range"),
        ] {
            let error = #expect(throws: OptimizationError.self) { try Self.space(ranges, constraints: constraints) }
            #expect(error?.message.contains(message) == true, "\(ranges): \(String(describing: error))")
        }
        #expect(throws: OptimizationError.self) { try Self.space(["fast=2:5:1"], strategy: "nope") }
        // Constraints read defaults for parameters that are not ranged (slow defaults to 30).
        let (sets, excluded) = try Self.space(["fast=10:20:5"], constraints: ["slow<=25"]).grid()
        #expect(sets.isEmpty && excluded == 3)
        let below = try Self.space(["fast=10:30:5"], constraints: ["fast<slow"]).grid()
        #expect(below.sets.map { $0["fast"] } == [10, 15, 20, 25] && below.excluded == 1)
        #expect(throws: OptimizationError.self) { try Self.space(["fast=2:200:1", "slow=3:1000:1"]).grid(limit: 10_000) }
        #expect(try WalkForward.parse("train=90d,test=30d") == (90 * 86_400, 30 * 86_400))
        #expect(try WalkForward.parse("test=12h, train=2w") == (14 * 86_400, 12 * 3_600))
        for bad in ["train=90d", "train=90x,test=1d", "train=-1d,test=1d", "window=1d,test=1d", "train=1d,test=1e-20m", "train=1d,test=0.5m"] {
            #expect(throws: OptimizationError.self) { try WalkForward.parse(bad) }
        }
    }

    @Test func aRandomSearchDrawsDistinctValidSetsAndTheSameSeedDrawsTheSameOnes() throws {
        let space = try Self.space(["fast=2:40:1", "slow=10:200:2"], constraints: ["fast<slow"])
        let first = space.sample(50, seed: 7), again = space.sample(50, seed: 7), other = space.sample(50, seed: 8)
        #expect(first.sets.count == 50)
        #expect(first.sets == again.sets)
        #expect(first.sets != other.sets)
        #expect(Set(first.sets).count == 50)
        #expect(first.sets.allSatisfy { $0["fast"]! < $0["slow"]! })
        // Asking for more than the grid holds gives the whole grid.
        let small = try Self.space(["fast=2:4:1"])
        #expect(small.sample(100, seed: 1).sets.count == 3)
    }

    @Test func theOptimizeCommandPrintsTheRankingAndRefusesBadRequests() async throws {
        let dir = try TemporaryDirectory(prefix: "optimize")
        defer { dir.remove() }
        let rows = Self.candles(1_500).map {
            "\(Int($0.time.timeIntervalSince1970)),\($0.open),\($0.high),\($0.low),\($0.close),\($0.volume)"
        }
        try (["time,open,high,low,close,volume"] + rows).joined(separator: "\n").write(toFile: dir.file("c.csv"), atomically: true, encoding: .utf8)
        let engine = BuildProducts.path("trading-engine")
        let environment = ["PATH": "/usr/bin:/bin"]
        let result = try await ProcessRunner.run(
            engine, ["optimize", "--csv", dir.file("c.csv"), "--strategy", "sma-cross", "--range", "fast=2:8:2", "--range", "slow=10:30:10",
                     "--metric", "profit", "--top", "3", "--json", "--jobs", "2"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let top = report?["top"] as? [[String: Any]] ?? []
        #expect(top.count == 3)
        #expect(report?["sets"] as? Int == 12 && report?["candles"] as? Int == 1_500)
        // The command's best equals a backtest of the same file with its parameters.
        let best = try #require(top.first?["parameters"] as? [String: Double])
        let backtest = try await ProcessRunner.run(
            engine, ["backtest", "--csv", dir.file("c.csv"), "--strategy", "sma-cross", "--param", "fast=\(Int(best["fast"]!))",
                     "--param", "slow=\(Int(best["slow"]!))", "--json"], environment: environment)
        let plain = try JSONSerialization.jsonObject(with: Data(backtest.stdout.utf8)) as? [String: Any]
        let bestStats = top.first?["stats"] as? [String: Any]
        let plainStats = plain?["stats"] as? [String: Any]
        #expect(bestStats?["totalPnL"] as? NSNumber == plainStats?["totalPnL"] as? NSNumber)
        #expect(bestStats?["trades"] as? Int == plainStats?["trades"] as? Int)

        let text = try await ProcessRunner.run(
            engine, ["optimize", "--csv", dir.file("c.csv"), "--strategy", "sma-cross", "--range", "fast=2:8:2", "--range", "slow=10:30:10",
                     "--walk-forward", "train=20d,test=10d"], environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("walk-forward: choose on 20d, test on the next 10d; 4 windows"), "\(text.stdout)")
        #expect(text.stdout.contains("out of sample:"))

        for (arguments, message) in [
            (["--range", "fats=1:2:1"], "sma-cross has no parameter 'fats'"),
            (["--range", "fast=2:8:2", "--metric", "luck"], "unknown --metric 'luck'"),
            (["--range", "fast=2:8:2", "--walk-forward", "train=300d,test=30d"], "do not cover one training span"),
            (["--range", "fast=30:40:5", "--range", "slow=10:20:5"], "no parameter set passes"),
            (["--range", "fast=2:8:2", "--walk-forward", "train=20d,test=30m"], "at least one candle (60 min)"),
            (["--range", "fast=2:8:2", "--random", "200000000000000000"], "--random must be 1 to 1,000,000"),
        ] {
            let bad = try await ProcessRunner.run(
                engine, ["optimize", "--csv", dir.file("c.csv"), "--strategy", "sma-cross"] + arguments, environment: environment)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }
}
