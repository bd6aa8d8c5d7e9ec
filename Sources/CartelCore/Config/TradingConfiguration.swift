import Foundation

/// How the engine trades: `TRADING_MODE`, the paper account (`PAPER_STARTING_BALANCE`,
/// `PAPER_SLIPPAGE_BPS`, `TAKER_FEE_PERCENT`), risk (`STAKE_PERCENT` or `STAKE_AMOUNT`,
/// `MAX_OPEN_POSITIONS`, `MAX_DRAWDOWN_PERCENT`) and the default exits (`STOP_LOSS_PERCENT`,
/// `TAKE_PROFIT_PERCENT`, `COOLDOWN_CANDLES`; 0 turns a level off).
public struct TradingConfiguration: Sendable, Equatable {
    public var mode: TradingMode
    public var startingBalance: Decimal
    public var paper: PaperExecution
    public var risk: RiskSettings
    public var exits: ExitRules
    /// Validate and live: how often Kraken's balances are compared with the ledger
    /// (`BALANCE_SYNC_SECONDS`), and the quote-currency difference tolerated
    /// (`BALANCE_TOLERANCE`: Kraken keeps fewer decimals than fills carry).
    public var balanceSyncSeconds: Int
    public var balanceTolerance: Decimal

    public init(
        mode: TradingMode = .paper, startingBalance: Decimal = 10_000, paper: PaperExecution = PaperExecution(),
        risk: RiskSettings = RiskSettings(), exits: ExitRules = ExitRules(), balanceSyncSeconds: Int = 60,
        balanceTolerance: Decimal = Decimal(string: "0.01")!
    ) {
        self.mode = mode
        self.startingBalance = startingBalance
        self.paper = paper
        self.risk = risk
        self.exits = exits
        self.balanceSyncSeconds = balanceSyncSeconds
        self.balanceTolerance = balanceTolerance
    }

    public init(settings: Settings) throws {
        let mode = try settings.oneOf("TRADING_MODE", default: TradingMode.paper)
        let stake: RiskSettings.Stake
        if settings.raw("STAKE_AMOUNT") != nil {
            if settings.raw("STAKE_PERCENT") != nil {
                throw ConfigurationError(key: "STAKE_AMOUNT", value: settings.raw("STAKE_AMOUNT")!, expected: "either STAKE_AMOUNT or STAKE_PERCENT, not both")
            }
            stake = .fixed(try settings.decimal("STAKE_AMOUNT", default: 0, in: Decimal(string: "0.00000001")!...1_000_000_000))
        } else {
            stake = .percentOfEquity(try settings.decimal("STAKE_PERCENT", default: 10, in: Decimal(string: "0.01")!...100))
        }
        func level(_ name: String, default value: Decimal) throws -> ExitRules.Level {
            let percent = try settings.decimal(name, default: value, in: 0...1000)
            return percent == 0 ? .none : .percent(percent)
        }
        self.init(
            mode: mode,
            startingBalance: try settings.decimal("PAPER_STARTING_BALANCE", default: 10_000, in: 1...1_000_000_000),
            paper: PaperExecution(
                slippageBasisPoints: try settings.decimal("PAPER_SLIPPAGE_BPS", default: 5, in: 0...1000),
                feePercent: try settings.decimal("TAKER_FEE_PERCENT", default: Decimal(string: "0.40")!, in: 0...10)),
            risk: RiskSettings(
                stake: stake,
                maxOpenPositions: try settings.int("MAX_OPEN_POSITIONS", default: 3, in: 1...100),
                maxDrawdownPercent: try settings.decimal("MAX_DRAWDOWN_PERCENT", default: 20, in: Decimal(string: "0.1")!...100).doubleValue),
            exits: ExitRules(
                stopLoss: try level("STOP_LOSS_PERCENT", default: 5),
                takeProfit: try level("TAKE_PROFIT_PERCENT", default: 10),
                cooldownCandles: try settings.int("COOLDOWN_CANDLES", default: 3, in: 0...10_000)),
            balanceSyncSeconds: try settings.int("BALANCE_SYNC_SECONDS", default: 60, in: 5...86_400),
            balanceTolerance: try settings.decimal("BALANCE_TOLERANCE", default: Decimal(string: "0.01")!, in: 0...1_000_000))
        if case .percent(let stop) = exits.stopLoss, stop >= 100 {
            throw ConfigurationError(key: "STOP_LOSS_PERCENT", value: "\(stop)", expected: "a percent below 100")
        }
    }
}
