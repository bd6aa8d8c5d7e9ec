import Foundation

/// One configured strategy instance: a row of the `strategies` table.
public struct StrategyRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var kind: String
    public var pair: String
    public var intervalMinutes: Int
    public var parameters: [String: Double]
    public var enabled: Bool
    public var updatedAt: Date

    public init(id: Int64, name: String, kind: String, pair: String, intervalMinutes: Int, parameters: [String: Double], enabled: Bool, updatedAt: Date) {
        self.id = id
        self.name = name
        self.kind = kind
        self.pair = pair
        self.intervalMinutes = intervalMinutes
        self.parameters = parameters
        self.enabled = enabled
        self.updatedAt = updatedAt
    }

    /// Kraken's `userref` for this instance's orders (32-bit, positive).
    public var userref: Int32 { Int32(truncatingIfNeeded: id & 0x7FFF_FFFF) }
}

/// A strategy instance to create: what `STRATEGIES` seeds
/// (`sma-cross:BTC/USD:60:fast=10,slow=30;rsi:ETH/USD:15`).
public struct StrategySpec: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var pair: String
    public var intervalMinutes: Int
    public var parameters: [String: Double]

    public init(name: String? = nil, kind: String, pair: String, intervalMinutes: Int, parameters: [String: Double] = [:]) {
        self.kind = kind
        self.pair = pair
        self.intervalMinutes = intervalMinutes
        self.parameters = parameters
        self.name = name ?? "\(kind):\(pair):\(intervalMinutes)"
    }

    /// Parses `STRATEGIES`: entries separated by `;`, each `kind:PAIR:minutes[:k=v,k=v]`, every
    /// one checked (known kind, valid pair, Kraken interval, parameters in range).
    public static func parseList(_ text: String) throws -> [StrategySpec] {
        var specs: [StrategySpec] = []
        for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 3).map(String.init)
            guard parts.count >= 3 else {
                throw StrategyParameter.Invalid(strategy: entry, message: "expected kind:PAIR:minutes[:name=value,...]")
            }
            let kind = parts[0]
            let type = try StrategyCatalog.type(named: kind)
            let pair = parts[1].uppercased()
            guard MarketDataConfiguration.isPairName(pair) else {
                throw StrategyParameter.Invalid(strategy: kind, message: "'\(parts[1])' is not a BASE/QUOTE pair")
            }
            guard let minutes = Int(parts[2]), MarketDataConfiguration.krakenIntervals.contains(minutes) else {
                throw StrategyParameter.Invalid(strategy: kind, message: "'\(parts[2])' is not one of Kraken's intervals (\(MarketDataConfiguration.krakenIntervals.map(String.init).joined(separator: ", ")))")
            }
            let parameters = parts.count == 4 ? try StrategyCatalog.parseParameters([parts[3]], strategy: kind) : [:]
            try StrategyCatalog.validate(type, parameters: parameters)
            specs.append(StrategySpec(kind: kind, pair: pair, intervalMinutes: minutes, parameters: parameters))
        }
        let names = specs.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw StrategyParameter.Invalid(strategy: repeated, message: "configured twice")
        }
        return specs
    }
}

/// An order as the ledger stores it.
public struct OrderRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Written before the broker is asked; still here after a crash means "find out".
        case submitting
        /// Accepted by the exchange, not (fully) filled yet.
        case open
        /// Sent, but the answer was lost (timeout, 5xx): Kraken may or may not have it. Looked
        /// up by `userref` until found (then `open`/`filled`) or known never placed (`abandoned`).
        case unknown
        case filled
        /// Refused by the risk rules, the ledger or the exchange.
        case rejected
        /// Accepted by the exchange, then canceled or expired with nothing executed.
        case canceled
        /// Checked by Kraken with `validate=true`; nothing executed.
        case validated
        /// Given up: never reached the exchange (found `submitting` after a paper-mode restart,
        /// or an order of unknown outcome that Kraken does not have).
        case abandoned

        /// Still in flight: its strategy places nothing else until it ends.
        public var isUnfinished: Bool { self == .submitting || self == .open || self == .unknown }
    }

    public var id: Int64
    public var strategyID: Int64
    public var signalID: Int64?
    public var clientOrderID: String
    public var exchangeOrderID: String?
    /// Kraken's `userref`: the order's own id (assigned by storage when the order is recorded).
    public var userref: Int32
    public var mode: TradingMode
    public var pair: String
    public var side: OrderSide
    public var quantity: Decimal
    public var status: Status
    public var error: String?
    /// The time the order belongs to (the candle's close, or the ticker's time).
    public var createdAt: Date
    /// When the order row last changed (wall time).
    public var updatedAt: Date
    /// Why it was placed (its signal's reason: `sma cross up`, `stop-loss`), for the trade it closes.
    public var reason: String?
    /// For an entry: the strategy's ATR when it was decided, so ATR-based exit levels are placed
    /// from it when the fill is booked, however much later (an analysis value, not money).
    public var atr: Double?

    public init(
        id: Int64 = 0, strategyID: Int64, signalID: Int64?, clientOrderID: String, exchangeOrderID: String? = nil, userref: Int32 = 0,
        mode: TradingMode, pair: String, side: OrderSide, quantity: Decimal, status: Status, error: String? = nil, createdAt: Date,
        updatedAt: Date? = nil, reason: String? = nil, atr: Double? = nil
    ) {
        self.reason = reason
        self.atr = atr
        self.id = id
        self.strategyID = strategyID
        self.signalID = signalID
        self.clientOrderID = clientOrderID
        self.exchangeOrderID = exchangeOrderID
        self.userref = userref
        self.mode = mode
        self.pair = pair
        self.side = side
        self.quantity = quantity
        self.status = status
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }
}

/// A stored fill with what the ledger needs to replay it.
public struct LedgerFill: Sendable, Equatable {
    /// The fill's row id once stored (0 before).
    public var id: Int64
    public var orderID: Int64
    public var strategyID: Int64
    public var pair: String
    public var side: OrderSide
    public var fill: Fill
    public var reason: String

    public init(id: Int64 = 0, orderID: Int64, strategyID: Int64, pair: String, side: OrderSide, fill: Fill, reason: String) {
        self.id = id
        self.orderID = orderID
        self.strategyID = strategyID
        self.pair = pair
        self.side = side
        self.fill = fill
        self.reason = reason
    }
}

/// The account at one moment: a row of `equity_snapshots`.
public struct EquitySnapshot: Sendable, Equatable {
    public var time: Date
    public var cash: Decimal
    public var positionsValue: Decimal
    public var realisedPnL: Decimal
    public var unrealisedPnL: Decimal
    public var fees: Decimal
    public var equity: Decimal { cash + positionsValue }

    public init(time: Date, ledger: PortfolioLedger, marks: [String: Decimal]) {
        self.time = time
        cash = ledger.cash
        positionsValue = ledger.positionsValue(marks: marks)
        realisedPnL = ledger.realisedPnL
        unrealisedPnL = ledger.unrealisedPnL(marks: marks)
        fees = ledger.fees
    }
}

/// What a mode's ledger started from: the paper balance, or (validate, live) the Kraken
/// account's balances when the engine first ran in that mode.
public struct LedgerAccount: Sendable, Equatable {
    public var mode: TradingMode
    /// The asset the ledger's cash is in (`ZUSD`; `PAPER` on paper).
    public var quoteAsset: String
    public var startingBalance: Decimal
    /// Every other asset the account held at the start (the trader's own, not the engine's).
    public var holdings: [String: Decimal]
    /// The ledger replays only fills stored after this one: earlier ones (from before the ledger
    /// was opened from the account's balances) are already in those balances.
    public var afterFillID: Int64
    public var createdAt: Date
    /// Money moved in (+) or out (−) of the quote asset by hand, as adopted with `trading-engine
    /// ledger adopt-balances`, each after the fills stored when it was adopted (other assets'
    /// adjustments are already in ``holdings``).
    public var deposits: [(amount: Decimal, afterFillID: Int64)] = []
    /// When balances were last adopted (the drawdown peak is measured from then on).
    public var lastAdjustedAt: Date?

    /// The starting balance plus every adopted deposit: the money put into the account.
    public var capital: Decimal { deposits.reduce(startingBalance) { $0 + $1.amount } }

    /// This account with adopted differences applied: quote-asset amounts are deposits, other
    /// assets change the trader's own holdings.
    public func adjusted(by adjustments: [LedgerAdjustment]) -> LedgerAccount {
        var account = self
        for adjustment in adjustments {
            if adjustment.asset == quoteAsset {
                account.deposits.append((adjustment.amount, adjustment.afterFillID))
            } else {
                account.holdings[adjustment.asset, default: 0] += adjustment.amount
            }
            account.lastAdjustedAt = max(account.lastAdjustedAt ?? adjustment.createdAt, adjustment.createdAt)
        }
        return account
    }

    public static func == (lhs: LedgerAccount, rhs: LedgerAccount) -> Bool {
        lhs.mode == rhs.mode && lhs.quoteAsset == rhs.quoteAsset && lhs.startingBalance == rhs.startingBalance
            && lhs.holdings == rhs.holdings && lhs.afterFillID == rhs.afterFillID && lhs.createdAt == rhs.createdAt
            && lhs.lastAdjustedAt == rhs.lastAdjustedAt && lhs.deposits.map(\.amount) == rhs.deposits.map(\.amount)
            && lhs.deposits.map(\.afterFillID) == rhs.deposits.map(\.afterFillID)
    }

    public init(
        mode: TradingMode, quoteAsset: String, startingBalance: Decimal, holdings: [String: Decimal] = [:], afterFillID: Int64 = 0,
        createdAt: Date
    ) {
        self.afterFillID = afterFillID
        self.mode = mode
        self.quoteAsset = quoteAsset
        self.startingBalance = startingBalance
        self.holdings = holdings
        self.createdAt = createdAt
    }
}

/// A difference between the ledger and the exchange account adopted by hand (a deposit, a
/// withdrawal, a trade made outside the engine): a row of `ledger_adjustments`.
public struct LedgerAdjustment: Sendable, Equatable {
    public var mode: TradingMode
    public var asset: String
    public var amount: Decimal
    public var note: String
    public var createdAt: Date
    /// The newest fill stored when it was adopted (set by storage).
    public var afterFillID: Int64 = 0

    public init(mode: TradingMode, asset: String, amount: Decimal, note: String, createdAt: Date, afterFillID: Int64 = 0) {
        self.afterFillID = afterFillID
        self.mode = mode
        self.asset = asset
        self.amount = amount
        self.note = note
        self.createdAt = createdAt
    }
}

/// What the trading engine persists: strategies, signals, orders, fills, trades, positions and
/// equity. Every fill is written in one transaction with the order, trade and position rows it
/// changes, so a crash leaves either all of it or none. Each trading mode (paper, validate,
/// live) keeps its own ledger: fills, positions, trades, equity and cooldowns are read per mode
/// (a fill's mode is its order's).
public protocol LedgerStorage: Sendable {
    /// Inserts `specs` when the `strategies` table is empty; returns how many were inserted.
    func seedStrategies(_ specs: [StrategySpec], at time: Date) async throws -> Int
    func strategies() async throws -> [StrategyRecord]

    /// Stores an enter or exit signal; returns its id.
    func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal, at time: Date
    ) async throws -> Int64
    /// Stores an order (usually `submitting`, before the broker is asked) and gives it its
    /// `userref` (its id); returns the id. A client order id stored before throws
    /// ``StorageError`` `.duplicate`.
    func recordOrder(_ order: OrderRecord, at time: Date) async throws -> Int64
    /// Changes an order's status (and exchange id or error).
    func updateOrder(id: Int64, status: OrderRecord.Status, exchangeOrderID: String?, error: String?, at time: Date) async throws
    /// Orders of `mode` still `submitting`, `open` or `unknown`, oldest first.
    func unfinishedOrders(mode: TradingMode) async throws -> [OrderRecord]
    /// Books a fill: the fill row, the order's filled quantity, average price, fee and status,
    /// the trade (opened by a buy; every sell adds its piece; closed by the sell that empties the
    /// position) and the position with its exit levels, all in one transaction, in the ledger of
    /// the order's mode. `closedTrade` is the piece the ledger closed, if any.
    func recordFill(_ fill: LedgerFill, position: Position?, levels: ExitLevels, closedTrade: ClosedTrade?, orderFilled: Bool) async throws
    /// The fills of `mode` stored after fill `after` (0: all), in booking order, for rebuilding
    /// the ledger after a restart.
    func ledgerFills(mode: TradingMode, after fillID: Int64) async throws -> [LedgerFill]
    /// The id of the newest fill of any mode (0 when none).
    func lastFillID() async throws -> Int64
    /// The stop-loss and take-profit stored with each open position of `mode`, by strategy id.
    func positionLevels(mode: TradingMode) async throws -> [Int64: ExitLevels]
    /// Replaces the exit levels stored with an open position (levels restored after an upgrade).
    func savePositionLevels(mode: TradingMode, strategyID: Int64, levels: ExitLevels) async throws
    func recordEquity(_ snapshot: EquitySnapshot, mode: TradingMode) async throws
    /// The highest equity recorded in `mode` (since `since`, when given): the drawdown kill
    /// switch measures from it, across restarts.
    func peakEquity(mode: TradingMode, since: Date?) async throws -> Decimal?
    /// Orders of `mode` given up (`abandoned`) since `since`: some may have executed after all.
    func abandonedOrders(mode: TradingMode, since: Date) async throws -> [OrderRecord]
    /// Closed trades of `mode` by strategy id, oldest exit first.
    func closedTrades(mode: TradingMode) async throws -> [(strategyID: Int64, trade: ClosedTrade)]

    /// The account a mode's ledger starts from, with every adopted adjustment applied.
    func ledgerAccount(mode: TradingMode) async throws -> LedgerAccount?
    /// Records differences adopted from the exchange account, in one transaction.
    func recordAdjustments(_ adjustments: [LedgerAdjustment]) async throws
    /// Stores the account a mode's ledger starts from (once: an existing row is kept).
    func saveLedgerAccount(_ account: LedgerAccount) async throws
    /// The end of each strategy's latest cooldown after a stop-out in `mode`, by strategy id.
    func cooldowns(mode: TradingMode) async throws -> [Int64: Date]
    func saveCooldown(mode: TradingMode, strategyID: Int64, until: Date) async throws
    /// A small piece of engine state that outlives the process (the last trading mode, ...).
    func engineState(_ key: String) async throws -> String?
    func setEngineState(_ key: String, _ value: String, at time: Date) async throws
}
