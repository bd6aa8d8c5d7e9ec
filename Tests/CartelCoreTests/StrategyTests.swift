import CartelCore
import Foundation
import Testing

@Suite struct StrategyTests {
    static func candles(_ closes: [Double]) -> [StrategyCandle] {
        closes.enumerated().map { index, close in
            StrategyCandle(time: Date(timeIntervalSince1970: Double(index * 60)), open: close, high: close + 0.5,
                           low: close - 0.5, close: close, volume: 1)
        }
    }

    static func run<S: Strategy>(_ strategy: inout S, _ closes: [Double]) -> [(Int, StrategySignal.Action)] {
        candles(closes).enumerated().compactMap { index, candle in
            let signal = strategy.onCandle(candle)
            return signal.action == .hold ? nil : (index, signal.action)
        }
    }

    @Test func smaCrossEntersOnTheCrossUpAndExitsOnTheCrossDown() throws {
        var strategy = try SMACrossStrategy.make(["fast": 2, "slow": 4])
        //           down ........ up .................. down ..........
        let closes: [Double] = [10, 9, 8, 7, 6, 7, 9, 11, 13, 14, 12, 9, 7, 5, 6]
        let signals = Self.run(&strategy, closes)
        #expect(signals.map(\.1) == [.enter, .exit])
        #expect(signals.first?.0 == 6)
        #expect(signals.last?.0 == 11)
        #expect(!strategy.inPosition)
    }

    @Test func smaCrossNeverExitsWithoutHavingEntered() throws {
        // Already above when warm: no cross up is seen, so the later cross down exits nothing.
        var strategy = try SMACrossStrategy.make(["fast": 2, "slow": 3])
        #expect(Self.run(&strategy, [10, 11, 12, 13, 12, 10, 8, 6]).isEmpty)
        var fresh = try SMACrossStrategy.make(["fast": 2, "slow": 3])
        #expect(Self.run(&fresh, [13, 12, 11, 10, 9, 8]).isEmpty)  // only crosses down: nothing to exit
    }

    @Test func rsiEntersOutOfOversoldInAnUptrendAndExitsOutOfOverbought() throws {
        var strategy = try RSIStrategy.make(["period": 2, "trend_fast": 2, "trend_slow": 5])
        let closes: [Double] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 17, 24, 26, 28, 25, 23]
        let signals = Self.run(&strategy, closes)
        #expect(signals.map(\.1) == [.enter, .exit], "\(signals)")
        #expect(signals.first?.0 == 13)
    }

    @Test func setPositionLetsTheEngineCorrectTheStrategy() throws {
        var strategy = try SMACrossStrategy.make(["fast": 2, "slow": 4])
        strategy.setPosition(open: true)
        #expect(strategy.inPosition)
        let signals = Self.run(&strategy, [14, 13, 12, 11, 12, 14, 10, 7])
        #expect(signals.map(\.1) == [.exit])
    }

    @Test func invalidParametersAreRejectedWithAMessage() {
        let unknown = #expect(throws: StrategyParameter.Invalid.self) { try SMACrossStrategy.make(["fsat": 3]) }
        #expect(unknown?.description == "sma-cross: unknown parameter 'fsat' (expected fast, slow)")
        let range = #expect(throws: StrategyParameter.Invalid.self) { try RSIStrategy.make(["oversold": 80]) }
        #expect(range?.description.contains("oversold=80.0 is outside 1.0...50.0") == true)
        #expect(throws: StrategyParameter.Invalid.self) { try SMACrossStrategy.make(["fast": 30, "slow": 10]) }
        #expect(throws: StrategyParameter.Invalid.self) { try SMACrossStrategy.make(["fast": 2.5]) }
        #expect(throws: StrategyParameter.Invalid.self) { try RSIStrategy.make(["period": .nan]) }
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let values = try StrategyParameter.resolve([:], for: RSIStrategy.self)
        #expect(values == ["period": 14, "oversold": 30, "overbought": 70, "trend_fast": 20, "trend_slow": 50])
        #expect(try StrategyParameter.resolve([:], for: SMACrossStrategy.self) == ["fast": 10, "slow": 30])
    }
}
