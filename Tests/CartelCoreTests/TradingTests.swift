import CartelCore
import Foundation
import Testing
import TestSupport

/// A seeded generator so that property tests are reproducible (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func dec(_ text: String) -> Decimal { Decimal(string: text)! }
private let t0 = Date(timeIntervalSince1970: 1_735_689_600)

@Suite struct LedgerTests {
    @Test func aRoundTripBooksCashFeesAndProfitExactly() throws {
        var ledger = PortfolioLedger(startingBalance: 10_000)
        try ledger.apply(Fill(quantity: dec("0.1"), price: 30_000, fee: 12, time: t0), side: .buy, strategyKey: "s", pair: "BTC/USD")
        #expect(ledger.cash == dec("6988"))
        #expect(ledger.positions["s"]?.averagePrice == 30_000)
        #expect(ledger.invariantHolds(marks: ["BTC/USD": dec("29000.5")]))
        let trade = try #require(try ledger.apply(
            Fill(quantity: dec("0.1"), price: 31_000, fee: dec("12.4"), time: t0.addingTimeInterval(60)),
            side: .sell, strategyKey: "s", pair: "BTC/USD", reason: "take-profit"))
        #expect(trade.grossPnL == 100)
        #expect(trade.netPnL == dec("75.6"))
        #expect(trade.entryPrice == 30_000 && trade.exitPrice == 31_000 && trade.exitReason == "take-profit")
        #expect(ledger.cash == dec("10075.6"))
        #expect(ledger.realisedPnL == 100 && ledger.fees == dec("24.4"))
        #expect(ledger.positions.isEmpty)
        #expect(ledger.invariantHolds(marks: [:]))
    }

    @Test func theLedgerRefusesWhatASpotAccountCannotDo() throws {
        var ledger = PortfolioLedger(startingBalance: 100)
        #expect(throws: PortfolioLedger.Rejection.insufficientCash(needed: dec("100.5"), available: 100)) {
            try ledger.apply(Fill(quantity: 1, price: 100, fee: dec("0.5"), time: t0), side: .buy, strategyKey: "s", pair: "X/USD")
        }
        #expect(throws: PortfolioLedger.Rejection.noPosition(strategyKey: "s")) {
            try ledger.apply(Fill(quantity: 1, price: 10, fee: 0, time: t0), side: .sell, strategyKey: "s", pair: "X/USD")
        }
        try ledger.apply(Fill(quantity: 2, price: 10, fee: 0, time: t0), side: .buy, strategyKey: "s", pair: "X/USD")
        #expect(throws: PortfolioLedger.Rejection.sellExceedsPosition(quantity: 3, held: 2)) {
            try ledger.apply(Fill(quantity: 3, price: 10, fee: 0, time: t0), side: .sell, strategyKey: "s", pair: "X/USD")
        }
        #expect(throws: PortfolioLedger.Rejection.nonPositive("fill price")) {
            try ledger.apply(Fill(quantity: 1, price: 0, fee: 0, time: t0), side: .buy, strategyKey: "s", pair: "X/USD")
        }
        #expect(ledger.cash == 80 && ledger.positions["s"]?.quantity == 2)
    }

    /// The accounting identity, exactly, after every step of random trading: buys and partial
    /// or whole sells by several strategies at random prices, paper fills with fees and slippage.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func theAccountingIdentityHoldsExactlyOverRandomTrading(seed: UInt64) throws {
        var random = SeededGenerator(state: seed)
        var ledger = PortfolioLedger(startingBalance: 10_000)
        let paper = PaperExecution(slippageBasisPoints: 5, feePercent: dec("0.26"))
        let lot = LotRules(quantityDecimals: 8, priceDecimals: 2, minimumQuantity: dec("0.0001"))
        let pairs = ["BTC/USD", "ETH/USD", "SOL/USD"]
        var marks = ["BTC/USD": dec("60000"), "ETH/USD": dec("3000"), "SOL/USD": dec("150")]
        var refused = 0
        for step in 0..<400 {
            let key = "strategy-\(Int.random(in: 0..<3, using: &random))"
            let pair = pairs[Int(key.last!.wholeNumberValue!)]
            // Prices wander by up to ±2 % a step, kept to the pair's two decimals.
            let move = Decimal(Int.random(in: -200...200, using: &random)) / 10_000
            marks[pair] = lot.roundPrice(marks[pair]! * (1 + move))
            let time = t0.addingTimeInterval(Double(step * 60))
            if let position = ledger.positions[key], Bool.random(using: &random) {
                let whole = Bool.random(using: &random)
                let quantity = whole ? position.quantity : lot.roundQuantity(position.quantity * Decimal(Int.random(in: 1...99, using: &random)) / 100)
                guard quantity > 0 else { continue }
                let fill = paper.fill(side: .sell, quantity: quantity, referencePrice: marks[pair]!, lot: lot, at: time)
                let trade = try #require(try ledger.apply(fill, side: .sell, strategyKey: key, pair: pair))
                #expect(trade.netPnL == trade.grossPnL - trade.entryFee - trade.exitFee)
            } else {
                let budget = ledger.cash * Decimal(Int.random(in: 1...40, using: &random)) / 100
                let quantity = lot.roundQuantity(budget / marks[pair]!)
                guard quantity >= lot.minimumQuantity else { continue }
                let fill = paper.fill(side: .buy, quantity: quantity, referencePrice: marks[pair]!, lot: lot, at: time)
                do {
                    try ledger.apply(fill, side: .buy, strategyKey: key, pair: pair)
                } catch PortfolioLedger.Rejection.insufficientCash {
                    refused += 1
                }
            }
            #expect(ledger.cash >= 0)
            #expect(ledger.invariantHolds(marks: marks), "seed \(seed) step \(step)")
            let expected = ledger.startingBalance + ledger.realisedPnL - ledger.fees + ledger.unrealisedPnL(marks: marks)
            #expect(ledger.equity(marks: marks) == expected)
        }
        #expect(refused < 400)
    }
}

@Suite struct PaperExecutionTests {
    @Test func marketOrdersFillAgainstYouWithTheTakerFee() {
        let paper = PaperExecution()  // 5 bps, 0.40 %
        let lot = LotRules(quantityDecimals: 8, priceDecimals: 1)
        let buy = paper.fill(side: .buy, quantity: dec("0.5"), referencePrice: dec("60000"), lot: lot, at: t0)
        #expect(buy.price == dec("60030"))  // 60000 × 1.0005
        #expect(buy.fee == dec("120.06"))  // 0.5 × 60030 × 0.004
        let sell = paper.fill(side: .sell, quantity: dec("0.5"), referencePrice: dec("60000.1"), lot: lot, at: t0)
        #expect(sell.price == dec("59970"))  // 59970.09995 rounded down to one decimal
        #expect(sell.fee == dec("119.94"))
        // What the risk manager sizes entries with: exactly what the fill books.
        #expect(paper.buyCost(quantity: dec("0.5"), referencePrice: dec("60000"), lot: lot) == buy.cost + buy.fee)
        #expect(buy.cost + buy.fee == dec("30135.06"))
    }
}

@Suite struct RiskManagerTests {
    let lot = LotRules(quantityDecimals: 4, priceDecimals: 1, minimumQuantity: dec("0.0001"))

    @Test func theStakeIsAShareOfEquityOrAFixedAmountWithinTheCash() {
        let percent = RiskManager(settings: RiskSettings(stake: .percentOfEquity(10)), execution: PaperExecution())
        #expect(percent.decideEntry(strategyKey: "a", price: 50_000, equity: 10_000, cash: 10_000, openPositions: 0,
                                    holdsPosition: false, lot: lot, now: t0) == .enter(quantity: dec("0.02")))
        let fixed = RiskManager(settings: RiskSettings(stake: .fixed(2_000)), execution: PaperExecution())
        // Only 1,000 in cash: the stake shrinks to what cash covers with fees and slippage.
        #expect(fixed.decideEntry(strategyKey: "a", price: 10_000, equity: 10_000, cash: 1_000, openPositions: 0,
                                  holdsPosition: false, lot: lot, now: t0) == .enter(quantity: dec("0.0995")))
        #expect(fixed.decideEntry(strategyKey: "a", price: 10_000, equity: 10_000, cash: dec("0.5"), openPositions: 0,
                                  holdsPosition: false, lot: lot, now: t0)
            == .reject("stake 0.5 buys 0, below the pair's minimum order 0.0001"))
    }

    /// When cash is the limit, the quantity is the largest lot whose whole cost — slipped price
    /// rounded up, fee rounded up — fits the cash: one lot more would not (issue 8, defect 8).
    @Test func whenCashIsTheLimitTheEntryIsTheLargestLotThatFits() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let execution = PaperExecution(
                slippageBasisPoints: Decimal(Int.random(in: 0...50, using: &generator)),
                feePercent: Decimal(Int.random(in: 0...100, using: &generator)) / 100)
            let lot = LotRules(quantityDecimals: Int.random(in: 0...8, using: &generator), priceDecimals: Int.random(in: 0...5, using: &generator))
            let price = Decimal(Int.random(in: 1...9_000_000, using: &generator)) / 100
            let cash = Decimal(Int.random(in: 100...100_000_000, using: &generator)) / 100
            let risk = RiskManager(settings: RiskSettings(stake: .percentOfEquity(100)), execution: execution)
            let decision = risk.decideEntry(
                strategyKey: "a", price: price, equity: cash, cash: cash, openPositions: 0, holdsPosition: false, lot: lot, now: t0)
            guard case .enter(let quantity) = decision else { continue }
            #expect(execution.buyCost(quantity: quantity, referencePrice: price, lot: lot) <= cash, "\(quantity) at \(price) with \(cash)")
            #expect(execution.buyCost(quantity: quantity + lot.quantityStep, referencePrice: price, lot: lot) > cash,
                    "\(quantity) at \(price) with \(cash): one lot more would fit")
            var ledger = PortfolioLedger(startingBalance: cash)
            #expect(throws: Never.self) {
                try ledger.apply(execution.fill(side: .buy, quantity: quantity, referencePrice: price, lot: lot, at: t0), side: .buy, strategyKey: "a", pair: "X/Y")
            }
        }
    }

    @Test func positionLimitsAndCooldownsRefuseEntries() {
        var risk = RiskManager(settings: RiskSettings(maxOpenPositions: 2))
        func decide(_ key: String, open: Int, holds: Bool = false, at time: Date = t0) -> RiskManager.EntryDecision {
            risk.decideEntry(strategyKey: key, price: 100, equity: 10_000, cash: 10_000, openPositions: open,
                             holdsPosition: holds, lot: lot, now: time)
        }
        #expect(decide("a", open: 2) == .reject("2 positions open, MAX_OPEN_POSITIONS is 2"))
        #expect(decide("a", open: 1, holds: true) == .reject("already holds a position"))
        risk.recordStopOut(strategyKey: "a", at: t0, rules: ExitRules(cooldownCandles: 3), intervalMinutes: 15)
        #expect(decide("a", open: 0, at: t0.addingTimeInterval(44 * 60)) == .reject("cooling down after a stop-loss until 2025-01-01T00:45:00Z"))
        #expect(decide("a", open: 0, at: t0.addingTimeInterval(45 * 60)) == .enter(quantity: 10))
        #expect(decide("b", open: 0) == .enter(quantity: 10))
    }

    @Test func theDrawdownKillSwitchHaltsEntriesOnceAndSaysWhy() {
        var risk = RiskManager(settings: RiskSettings(maxDrawdownPercent: 20))
        #expect(risk.observe(equity: 10_000) == nil)
        #expect(risk.observe(equity: 12_000) == nil)
        #expect(risk.observe(equity: 9_601) == nil)  // 19.99 % below the peak
        let message = risk.observe(equity: 9_600)
        #expect(message == "drawdown kill switch: equity 9600.0 is 20.0% below its peak 12000.0 (MAX_DRAWDOWN_PERCENT=20.0); no new entries")
        #expect(risk.observe(equity: 9_000) == nil)  // said once
        #expect(risk.observe(equity: 13_000) == nil)  // a new peak does not silently re-arm
        #expect(risk.decideEntry(strategyKey: "a", price: 100, equity: 13_000, cash: 13_000, openPositions: 0,
                                 holdsPosition: false, lot: lot, now: t0) == .reject(message!))
    }

    @Test func exitLevelsComeFromPercentOrATR() throws {
        let percent = RiskManager.exitLevels(entry: dec("60000"), rules: ExitRules(stopLoss: .percent(2), takeProfit: .percent(dec("3.5"))), atr: nil, lot: lot)
        #expect(percent == ExitLevels(stopLoss: dec("58800"), takeProfit: dec("62100")))
        let atr = RiskManager.exitLevels(entry: dec("100"), rules: ExitRules(stopLoss: .atr(2), takeProfit: .none), atr: 1.25, lot: lot)
        #expect(atr == ExitLevels(stopLoss: dec("97.5"), takeProfit: nil))
        #expect(RiskManager.exitLevels(entry: 100, rules: ExitRules(stopLoss: .atr(2)), atr: nil, lot: lot).stopLoss == nil)
        #expect(atr.trigger(at: dec("97.5")) == .stopLoss)
        #expect(percent.trigger(at: dec("62100")) == .takeProfit)
        #expect(percent.trigger(at: dec("60000")) == nil)

        let rules = try ExitRules().overridden(by: ["stop_loss_atr": 3, "take_profit": 0, "cooldown": 7, "fast": 5], strategy: "sma-cross")
        #expect(rules.stopLoss == .atr(3) && rules.takeProfit == ExitRules.Level.none && rules.cooldownCandles == 7)
        #expect(throws: StrategyParameter.Invalid.self) { try ExitRules().overridden(by: ["stop_loss": 2, "stop_loss_atr": 2], strategy: "x") }
        #expect(throws: StrategyParameter.Invalid.self) { try ExitRules().overridden(by: ["stop_loss": 95], strategy: "x") }
        #expect(throws: StrategyParameter.Invalid.self) { try ExitRules().overridden(by: ["cooldown": 1.5], strategy: "x") }
    }
}

@Suite struct TradingConfigurationTests {
    @Test func defaultsAreThePaperAccountOfTheIssue() throws {
        let config = try TradingConfiguration(settings: .values([:]))
        #expect(config.mode == .paper)
        #expect(config.startingBalance == 10_000)
        #expect(config.paper.slippageBasisPoints == 5 && config.paper.feePercent == dec("0.40"))
        #expect(config.risk.stake == .percentOfEquity(10) && config.risk.maxOpenPositions == 3)
        #expect(config.exits.stopLoss == .percent(5) && config.exits.takeProfit == .percent(10))
    }

    @Test func badValuesNameTheSetting() throws {
        let cases: [([String: String], String)] = [
            (["TRADING_MODE": "yolo"], "TRADING_MODE"),
            (["TAKER_FEE_PERCENT": "0,4"], "TAKER_FEE_PERCENT"),
            (["STAKE_AMOUNT": "100", "STAKE_PERCENT": "5"], "STAKE_AMOUNT"),
            (["PAPER_STARTING_BALANCE": "-1"], "PAPER_STARTING_BALANCE"),
            (["STOP_LOSS_PERCENT": "100"], "STOP_LOSS_PERCENT"),
            (["MAX_OPEN_POSITIONS": "0"], "MAX_OPEN_POSITIONS"),
        ]
        for (values, key) in cases {
            #expect { try TradingConfiguration(settings: .values(values)) } throws: { error in
                (error as? ConfigurationError)?.key == key
            }
        }
        let fixed = try TradingConfiguration(settings: .values(["STAKE_AMOUNT": "250.5", "STOP_LOSS_PERCENT": "0"]))
        #expect(fixed.risk.stake == .fixed(dec("250.5")) && fixed.exits.stopLoss == ExitRules.Level.none)
    }

    @Test func decimalsConvertToDoublesLikeFoundation() {
        var random = SeededGenerator(state: 42)
        for _ in 0..<20_000 {
            let mantissa = UInt64.random(in: 0..<(1 << 53), using: &random)
            let value = Decimal(sign: Bool.random(using: &random) ? .minus : .plus, exponent: Int.random(in: -12...6, using: &random),
                                significand: Decimal(mantissa))
            #expect(value.doubleValue == Double(value.description)!, "\(value)")
        }
        #expect(Decimal(string: "123456789012345678901234567890")!.doubleValue == 1.2345678901234568e29)
    }
}

@Suite struct BacktesterTests {
    static func candle(_ minute: Int, open: Double, high: Double, low: Double, close: Double) -> StrategyCandle {
        StrategyCandle(time: t0.addingTimeInterval(Double(minute * 60)), open: open, high: high, low: low, close: close, volume: 1)
    }

    /// Closes that make sma-cross (2/4) enter on candle 6 and exit on candle 11.
    static let closes: [Double] = [10, 9, 8, 7, 6, 7, 9, 11, 13, 14, 12, 9, 7, 5, 6]

    static func series(_ closes: [Double], opens: [Int: Double] = [:], lows: [Int: Double] = [:]) -> [StrategyCandle] {
        closes.enumerated().map { index, close in
            let open = opens[index] ?? (index == 0 ? close : closes[index - 1])
            return candle(index, open: open, high: max(open, close) + 0.1, low: lows[index] ?? min(open, close) - 0.1, close: close)
        }
    }

    @Test func signalsFillAtTheNextOpenThroughTheLedger() throws {
        let config = BacktestConfiguration(
            strategyKey: "sma-cross", pair: "X/USD", intervalMinutes: 1, startingBalance: 1_000,
            risk: RiskSettings(stake: .percentOfEquity(50)), exits: ExitRules(stopLoss: .none, takeProfit: .none),
            paper: PaperExecution(slippageBasisPoints: 0, feePercent: 1), lot: LotRules(quantityDecimals: 4, priceDecimals: 2))
        let result = try Backtester.run(kind: "sma-cross", parameters: ["fast": 2, "slow": 4], candles: Self.series(Self.closes), configuration: config)
        let trade = try #require(result.trades.first)
        #expect(result.trades.count == 1)
        // Entry signalled on candle 6 (close 9) fills at candle 7's open (9); exit signalled on
        // candle 11 fills at candle 12's open (9, the previous close).
        #expect(trade.entryTime == t0.addingTimeInterval(7 * 60) && trade.entryPrice == 9)
        #expect(trade.exitTime == t0.addingTimeInterval(12 * 60) && trade.exitPrice == 9)
        #expect(trade.quantity == dec("55.5555"))  // 500 / 9 cut to 4 decimals
        #expect(trade.entryFee == dec("4.999995") && trade.exitFee == dec("4.999995"))
        #expect(trade.netPnL == dec("-9.99999"))
        #expect(result.ledger.cash == dec("990.00001"))
        #expect(result.ledger.invariantHolds(marks: [:]))
        #expect(result.stats.trades == 1 && result.stats.losses == 1 && result.stats.winRatePercent == 0)
        #expect(result.stats.finalEquity == result.ledger.cash)
    }

    @Test func streamedJSONIsTheSameDocumentInPieces() throws {
        let closes = Array(repeating: Self.closes, count: 500).flatMap { $0 }
        let config = BacktestConfiguration(
            strategyKey: "sma-cross", pair: "X/USD", intervalMinutes: 1, risk: RiskSettings(maxDrawdownPercent: 100),
            exits: ExitRules(stopLoss: .none, takeProfit: .none), paper: PaperExecution(slippageBasisPoints: 0, feePercent: 0))
        let result = try Backtester.run(kind: "sma-cross", parameters: ["fast": 2, "slow": 4], candles: Self.series(closes), configuration: config)
        let report = BacktestReport(strategy: "sma-cross", parameters: ["fast": 2, "slow": 4], pair: "X/USD", intervalMinutes: 1, result: result)
        #expect(report.trades.count > 400)
        var pieces: [String] = []
        try report.writeJSON { pieces.append($0) }
        #expect(pieces.count > 1, "written in more than one piece")
        #expect(pieces.dropLast().allSatisfy { $0.utf8.count < 70_000 })
        let streamed = try #require(try JSONSerialization.jsonObject(with: Data(pieces.joined().utf8)) as? NSDictionary)
        let whole = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? NSDictionary)
        #expect(streamed == whole)
        #expect((streamed["trades"] as? [Any])?.count == report.trades.count)
    }

    @Test func aStopLossExitsInsideTheCandleOrAtAGappedOpen() throws {
        let rules = ExitRules(stopLoss: .percent(10), takeProfit: .none, cooldownCandles: 50)
        let config = BacktestConfiguration(
            strategyKey: "sma-cross", pair: "X/USD", intervalMinutes: 1, startingBalance: 1_000, exits: rules,
            paper: PaperExecution(slippageBasisPoints: 0, feePercent: 0), lot: LotRules(quantityDecimals: 4, priceDecimals: 2))
        // Entry at candle 7's open (9): stop at 8.1. Candle 9 trades down to 8.0 inside its range.
        let inside = try Backtester.run(
            kind: "sma-cross", parameters: ["fast": 2, "slow": 4], candles: Self.series(Self.closes, lows: [9: 8]), configuration: config)
        let stopped = try #require(inside.trades.first)
        #expect(stopped.exitReason == "stop-loss" && stopped.exitPrice == dec("8.1") && stopped.exitTime == t0.addingTimeInterval(9 * 60))
        // Candle 9 opens at 7.5, below the stop: the fill is the open.
        let gapped = try Backtester.run(
            kind: "sma-cross", parameters: ["fast": 2, "slow": 4], candles: Self.series(Self.closes, opens: [9: 7.5]), configuration: config)
        #expect(gapped.trades.first?.exitPrice == dec("7.5"))
        #expect(gapped.trades.first?.exitReason == "stop-loss")
        #expect(gapped.ledger.invariantHolds(marks: [:]))
    }

    @Test func everyStrategyBacktestsAndKeepsTheIdentity() throws {
        var random = SeededGenerator(state: 9)
        var price = 100.0
        let candles = (0..<3_000).map { index -> StrategyCandle in
            let open = price
            price *= 1 + Double(Int.random(in: -100...100, using: &random)) / 10_000 + 0.002 * sin(Double(index) / 40)
            return Self.candle(index, open: open, high: max(open, price) * 1.001, low: min(open, price) * 0.999, close: price)
        }
        var traded = 0
        for kind in StrategyCatalog.kinds {
            let config = BacktestConfiguration(strategyKey: kind, pair: "X/USD", intervalMinutes: 15)
            let result = try Backtester.run(kind: kind, parameters: [:], candles: candles, configuration: config)
            let last = config.lot.roundPrice(Decimal(candles.last!.close))
            #expect(result.ledger.invariantHolds(marks: ["X/USD": last]), "\(kind)")
            #expect(result.stats.trades == result.trades.count, "\(kind)")
            #expect(result.ledger.cash >= 0, "\(kind)")
            let net = result.trades.reduce(Decimal(0)) { $0 + $1.netPnL }
            #expect(net == result.stats.totalPnL, "\(kind)")
            traded += result.trades.count
        }
        #expect(traded > 10)
        #expect(throws: StrategyParameter.Invalid.self) {
            try Backtester.run(kind: "martingale", parameters: [:], candles: candles, configuration: BacktestConfiguration(strategyKey: "m", pair: "X/USD", intervalMinutes: 1))
        }
    }

    @Test func theBacktestCommandPrintsTradesAndStatsAsTextOrJSON() async throws {
        let dir = try TemporaryDirectory(prefix: "backtest")
        defer { dir.remove() }
        let rows = Self.closes.enumerated().map { index, close in
            let open = index == 0 ? close : Self.closes[index - 1]
            return "\(1_735_689_600 + index * 3600),\(open),\(max(open, close) + 1),\(min(open, close) - 1),\(close),5"
        }
        try (["date,open,high,low,close,volume"] + rows).joined(separator: "\n").write(toFile: dir.file("h.csv"), atomically: true, encoding: .utf8)
        let environment = ["PATH": "/usr/bin:/bin", "STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0", "TAKER_FEE_PERCENT": "0", "PAPER_SLIPPAGE_BPS": "0"]
        let json = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--param", "fast=2,slow=4", "--json"], environment: environment)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["intervalMinutes"] as? Int == 60)
        let trades = try #require(object["trades"] as? [[String: Any]])
        #expect(trades.count == 1)
        #expect(trades.first?["entryTime"] as? String == "2025-01-01T07:00:00Z")
        #expect((trades.first?["entryPrice"] as? NSNumber)?.doubleValue == 9)
        let stats = try #require(object["stats"] as? [String: Any])
        #expect(stats["trades"] as? Int == 1)

        let text = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--param", "fast=2", "--param", "slow=4"], environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("backtest sma-cross on CSV 60m: 15 candles, 1 closed trades"))
        #expect(text.stdout.contains("trades 1  wins 0  losses 1"))
        #expect(text.stdout.contains("2025-01-01T07:00:00Z"), "the trade is listed")
        // --trades caps the list (the statistics still count every trade); a bad value is refused.
        let capped = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--param", "fast=2,slow=4", "--trades", "0"], environment: environment)
        #expect(capped.status == 0, "\(capped.stderr)")
        #expect(capped.stdout.contains("the last 0 of 1 trades (--trades N or --trades all for more):"))
        #expect(!capped.stdout.contains("2025-01-01T07:00:00Z") && capped.stdout.contains("trades 1  wins 0  losses 1"))
        let all = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--param", "fast=2,slow=4", "--trades", "all"], environment: environment)
        #expect(all.stdout.contains("2025-01-01T07:00:00Z") && !all.stdout.contains("the last"))
        let bad = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--trades", "many"], environment: environment)
        #expect(bad.status != 0 && bad.stderr.contains("--trades must be a number of trades (0 or more) or 'all', not 'many'"), "\(bad.stderr)")

        // From the database instead of a file, limited by --from/--to.
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.upsertCandles(Self.closes.enumerated().map { index, close in
            let open = index == 0 ? close : Self.closes[index - 1]
            return Candle(
                pair: "BTC/USD", intervalMinutes: 60, openTime: Date(timeIntervalSince1970: Double(1_735_689_600 + index * 3600)),
                open: Decimal(open), high: Decimal(max(open, close) + 1), low: Decimal(min(open, close) - 1), close: Decimal(close),
                vwap: Decimal(close), volume: 5, tradeCount: 1)
        })
        let stored = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"),
            ["backtest", "--pair", "BTC/USD", "--interval", "60", "--from", "2025-01-01T02:00:00Z", "--to", "1735740000",
             "--strategy", "sma-cross", "--param", "fast=2,slow=4"],
            environment: environment.merging(["DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))"]) { $1 })
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(stored.stdout.contains("backtest sma-cross on BTC/USD 60m: 13 candles, 1 closed trades"), "\(stored.stdout)")

        for (arguments, message) in [
            (["--csv", dir.file("h.csv"), "--strategy", "sma-cross", "--param", "fast=40"], "fast (40.0) must be below slow (30.0)"),
            (["--csv", dir.file("h.csv"), "--strategy", "nope"], "unknown strategy"),
            (["--strategy", "rsi"], "give either --csv FILE or --pair PAIR --interval MINUTES"),
            (["--csv", dir.file("missing.csv"), "--strategy", "rsi"], "missing.csv"),
        ] {
            let bad = try await ProcessRunner.run(BuildProducts.path("trading-engine"), ["backtest"] + arguments, environment: environment)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }
}
