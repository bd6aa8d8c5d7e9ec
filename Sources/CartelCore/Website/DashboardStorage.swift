import Foundation

/// What the website reads and changes besides ``Storage`` and ``LedgerStorage``: pages of the
/// ledger's tables, the events journal it streams, and the two things its owner may steer
/// (strategies and pause). Money stays the exact decimal text storage holds.
public protocol DashboardStorage: Storage, LedgerStorage {
    /// The newest `limit` candles of a pair and interval that opened before `before` (all when
    /// nil), oldest first; only final ones with `closedOnly`.
    func recentCandles(pair: String, intervalMinutes: Int, limit: Int, before: Date?, closedOnly: Bool) async throws -> [Candle]
    /// The open positions of `mode` with their stored exit levels, by strategy id.
    func openPositions(mode: TradingMode) async throws -> [PositionRow]
    /// Trades of `mode`, newest first, `query.limit` at most, after the cursor (stable under
    /// inserts: new trades have larger ids and never shift a page).
    func trades(mode: TradingMode, query: TradeQuery) async throws -> [TradeRow]
    /// The newest signals (enter/exit), newest first.
    func signals(limit: Int, strategyID: Int64?) async throws -> [SignalRow]
    /// The newest orders of `mode`, newest first.
    func orders(mode: TradingMode, limit: Int, strategyID: Int64?) async throws -> [OrderRow]
    /// Equity snapshots of `mode` in `from...to`, at most one per `stepSeconds` bucket (its
    /// last), oldest first.
    func equity(mode: TradingMode, from: Date, to: Date, stepSeconds: Int) async throws -> [EquityRow]
    /// The time of the first and last equity snapshot of `mode`.
    func equityRange(mode: TradingMode) async throws -> ClosedRange<Date>?
    /// Enables/disables a strategy or replaces its parameters; returns the changed row (nil
    /// when there is no such strategy).
    func updateStrategy(id: Int64, enabled: Bool?, parameters: [String: Double]?, at time: Date) async throws -> StrategyRecord?
    /// Events stored after `id`, oldest first, `limit` at most.
    func events(after id: Int64, limit: Int) async throws -> [StoredEvent]
    /// The newest event's id (0 when none).
    func latestEventID() async throws -> Int64
    /// Deletes events older than `cutoff`; returns how many.
    func pruneEvents(olderThan cutoff: Date) async throws -> Int
    /// Every stored pair and interval with its candle count and time span.
    func candleSeries() async throws -> [CandleSeriesRow]
    /// Changes whenever anything the ledger figures are computed from changes (a new event or
    /// equity snapshot): figures cached under an unchanged marker are still current.
    func changeMarker() async throws -> String
}

public struct CandleSeriesRow: Sendable, Equatable {
    public var pair: String
    public var intervalMinutes: Int
    public var count: Int
    public var oldest: Date
    public var newest: Date
}

/// Filters and cursor of a trades page.
public struct TradeQuery: Sendable, Equatable {
    public var strategyID: Int64?
    public var pair: String?
    /// Entry time bounds (inclusive).
    public var from: Date?
    public var to: Date?
    public var limit: Int
    /// Only trades with a smaller id (the last id of the previous page).
    public var beforeID: Int64?
    /// Only trades closed at or after this time and before `closedBefore` (exit time).
    public var closedFrom: Date?
    public var closedBefore: Date?

    public init(
        strategyID: Int64? = nil, pair: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 50, beforeID: Int64? = nil,
        closedFrom: Date? = nil, closedBefore: Date? = nil
    ) {
        self.closedFrom = closedFrom
        self.closedBefore = closedBefore
        self.strategyID = strategyID
        self.pair = pair
        self.from = from
        self.to = to
        self.limit = limit
        self.beforeID = beforeID
    }
}

public struct PositionRow: Sendable, Equatable {
    public var strategyID: Int64
    public var pair: String
    public var quantity: Decimal
    public var averagePrice: Decimal
    public var stopLoss: Decimal?
    public var takeProfit: Decimal?
    public var openedAt: Date
}

public struct TradeRow: Sendable, Equatable {
    public var id: Int64
    public var strategyID: Int64?
    public var pair: String
    public var status: String
    public var quantity: Decimal
    public var exitQuantity: Decimal
    public var entryTime: Date
    public var entryPrice: Decimal
    public var entryFee: Decimal
    public var exitTime: Date?
    public var exitPrice: Decimal?
    public var exitFee: Decimal?
    public var realisedPnL: Decimal?
    public var exitReason: String?
}

public struct SignalRow: Sendable, Equatable {
    public var id: Int64
    public var strategyID: Int64
    public var pair: String
    public var intervalMinutes: Int
    public var candleTime: Date
    public var action: String
    public var reason: String
    public var confidence: Double
    public var price: Decimal
    public var createdAt: Date
}

public struct OrderRow: Sendable, Equatable {
    public var id: Int64
    public var strategyID: Int64?
    public var clientOrderID: String
    public var exchangeOrderID: String?
    public var mode: String
    public var pair: String
    public var side: String
    public var quantity: Decimal
    public var status: String
    public var filledQuantity: Decimal
    public var averagePrice: Decimal?
    public var fee: Decimal
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public struct EquityRow: Sendable, Equatable {
    public var time: Date
    public var cash: Decimal
    public var positionsValue: Decimal
    public var equity: Decimal
    public var realisedPnL: Decimal
    public var unrealisedPnL: Decimal
    public var fees: Decimal
}

/// A row of the `events` journal: `payload` is the JSON object the trigger wrote.
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var payload: String
    public var createdAt: Date

    public init(id: Int64, kind: String, payload: String, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.createdAt = createdAt
    }
}

/// Whether new entries are paused, stored in `engine_state` under `paused` as JSON, so it
/// survives restarts and the engine reads it before every entry. Exits always run.
public struct PauseState: Sendable, Equatable, Codable {
    public var paused: Bool
    /// Who changed it last (`website`, `telegram`, `cli`).
    public var by: String
    public var at: Date

    public init(paused: Bool, by: String, at: Date) {
        self.paused = paused
        self.by = by
        self.at = at
    }

    public static let key = "paused"

    enum CodingKeys: String, CodingKey { case paused, by, at }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(paused, forKey: .paused)
        try container.encode(by, forKey: .by)
        try container.encode(UTCTime.iso8601(at, fractional: false), forKey: .at)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        paused = try container.decode(Bool.self, forKey: .paused)
        by = try container.decode(String.self, forKey: .by)
        let text = try container.decode(String.self, forKey: .at)
        guard let time = UTCTime.parseISO8601(text) else {
            throw DecodingError.dataCorruptedError(forKey: .at, in: container, debugDescription: "not an ISO-8601 time: \(text)")
        }
        at = time
    }
}

extension LedgerStorage {
    /// The stored pause state (not paused when never set). An unreadable value counts as
    /// paused: entries stay off until someone resumes, which rewrites it.
    public func pauseState() async throws -> PauseState {
        guard let text = try await engineState(PauseState.key) else { return PauseState(paused: false, by: "default", at: .distantPast) }
        guard let state = try? JSONDecoder().decode(PauseState.self, from: Data(text.utf8)) else {
            return PauseState(paused: true, by: "unreadable engine_state.paused: \(text.prefix(80))", at: .distantPast)
        }
        return state
    }

    public func setPause(_ state: PauseState) async throws {
        let text = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await setEngineState(PauseState.key, text, at: state.at)
    }
}
