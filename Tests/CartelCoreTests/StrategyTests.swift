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

@Suite struct MoreStrategyTests {
    @Test func macdEntersOnAPositiveHistogramCrossAboveZeroAndExitsOnTheCrossBelow() throws {
        var strategy = try MACDStrategy.make(["fast": 2, "slow": 4, "signal": 2])
        // Rising (MACD > 0), a pause that pulls the histogram below zero, a new push up, then a fall.
        let closes: [Double] = [10, 11, 12, 13, 14, 15, 15, 14.8, 14.9, 16, 17.5, 19, 18, 16, 14, 12]
        let signals = StrategyTests.run(&strategy, closes)
        #expect(signals.map(\.1) == [.enter, .exit], "\(signals)")
        #expect(!strategy.inPosition)
    }

    @Test func bollingerBreakoutEntersAboveTheUpperBandInAnUptrendAndExitsBelowTheMiddle() throws {
        // With 5 candles one close cannot sit 2σ above a window that contains it: use 1.5σ.
        var strategy = try BollingerBreakoutStrategy.make(["length": 5, "width": 1.5, "trend": 3, "atr_period": 3, "atr_stop": 10])
        let closes: [Double] = [10, 10.2, 10.1, 10.3, 10.2, 10.3, 12, 12.5, 12.6, 10.5, 10]
        let signals = StrategyTests.run(&strategy, closes)
        #expect(signals.map(\.1) == [.enter, .exit], "\(signals)")
        #expect(signals.first?.0 == 6)
    }

    @Test func bollingerBreakoutHonoursItsATRStop() throws {
        var strategy = try BollingerBreakoutStrategy.make(["length": 5, "width": 1.5, "trend": 3, "atr_period": 3, "atr_stop": 0.5])
        // Entry at 12 with ATR 1.4: stop at 11.3; 11.2 is under the stop but above the middle band (10.8).
        let closes: [Double] = [10, 10.2, 10.1, 10.3, 10.2, 10.3, 12, 11.2]
        var reasons: [String] = []
        for candle in StrategyTests.candles(closes) {
            let signal = strategy.onCandle(candle)
            if signal.action != .hold { reasons.append("\(signal.action.rawValue): \(signal.reason)") }
        }
        #expect(reasons == ["enter: close broke above the upper band in an uptrend", "exit: close fell below the ATR stop"])
    }
}

@Suite struct PullbackAndOscillatorTests {
    @Test func momentumIsTheChangeOverThePeriod() {
        var momentum = Momentum(period: 2)
        #expect([1.0, 2, 4, 7].map { momentum.update($0) } == [nil, nil, 3, 5])
    }

    @Test func rsiPullbackBuysTheDipInAnUptrendAndSellsTheFadeFromOverbought() throws {
        var strategy = try RSIPullbackStrategy.make([
            "period": 2, "trend": 3, "volume_fast": 2, "volume_slow": 3,
        ])
        let closes: [Double] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 13, 19, 21, 23, 25, 24, 22]
        let signals = StrategyTests.run(&strategy, closes)
        #expect(signals.map(\.1) == [.enter, .exit], "\(signals)")
        #expect(signals.first?.0 == 10)
    }

    @Test func quantumOscillatorNeedsMomentumAndVolumeToEnter() throws {
        func candles(volumeOnCross: Double) -> [StrategyCandle] {
            let closes: [Double] = [20, 19, 18, 17, 16, 15, 14, 13, 15, 16, 18, 20, 22, 21, 19, 17, 15]
            return closes.enumerated().map { index, close in
                StrategyCandle(time: .init(timeIntervalSince1970: Double(index * 60)), open: close, high: close,
                               low: close, close: close, volume: index >= 8 ? volumeOnCross : 1)
            }
        }
        let parameters: [String: Double] = ["fast": 2, "slow": 4, "signal": 2, "momentum": 2, "volume": 3]
        var confirmed = try QuantumOscillatorStrategy.make(parameters)
        let actions = candles(volumeOnCross: 5).map { confirmed.onCandle($0).action }.filter { $0 != .hold }
        #expect(actions == [.enter, .exit], "\(actions)")
        var quiet = try QuantumOscillatorStrategy.make(parameters)
        #expect(candles(volumeOnCross: 1).allSatisfy { quiet.onCandle($0).action == .hold })
    }

    @Test func everyStrategyRejectsAnUnknownParameter() {
        #expect(throws: StrategyParameter.Invalid.self) { try RSIPullbackStrategy.make(["bogus": 1]) }
        #expect(throws: StrategyParameter.Invalid.self) { try QuantumOscillatorStrategy.make(["bogus": 1]) }
        #expect(throws: StrategyParameter.Invalid.self) { try MACDStrategy.make(["bogus": 1]) }
        #expect(throws: StrategyParameter.Invalid.self) { try BollingerBreakoutStrategy.make(["bogus": 1]) }
        #expect(throws: StrategyParameter.Invalid.self) { try RSIPullbackStrategy.make(["lower": 40, "lower_threshold": 33]) }
    }
}
