import Foundation

// The JSON bodies of `/api/*`, described in the OpenAPI document (`OpenAPIDocument.yaml`).
// Money, prices and volumes are exact decimal strings, times ISO-8601 UTC.

public struct ServiceStatusDTO: Codable, Sendable {
    public var name: String
    /// `running`, `stopped`, `stale` (no heartbeat for three intervals) or `unknown` (never seen).
    public var state: String
    public var pid: Int32?
    public var host: String?
    public var version: String?
    public var startedAt: Date?
    public var uptimeSeconds: Int?
    public var residentBytes: UInt64?
    public var lastHeartbeat: Date?
    public var detail: String?
}

public struct StatusDTO: Codable, Sendable {
    public var mode: String
    public var paused: Bool
    public var pausedBy: String?
    public var pausedAt: Date?
    public var version: String
    public var time: Date
    public var services: [ServiceStatusDTO]
}

public struct TickerDTO: Encodable, Sendable {
    public var time: Date
    public var bid: String
    public var ask: String
    public var last: String
    public var volume24h: String
    public var low24h: String
    public var high24h: String
}

public struct SeriesDTO: Encodable, Sendable {
    public var intervalMinutes: Int
    public var candles: Int
    public var oldest: Date
    public var newest: Date
}

public struct MarketDTO: Encodable, Sendable {
    public var pair: String
    public var ticker: TickerDTO?
    public var status: String
    public var dataPoints: Int
    public var lastCollected: Date?
    public var lastError: String?
    public var errorCount: Int
    public var intervals: [SeriesDTO]
}

public struct MarketsDTO: Encodable, Sendable {
    public var markets: [MarketDTO]
}

public struct CandleDTO: Encodable, Sendable {
    public var time: Date
    public var open: String
    public var high: String
    public var low: String
    public var close: String
    public var volume: String

    init(_ candle: Candle) {
        time = candle.openTime
        open = DecimalText.string(candle.open)
        high = DecimalText.string(candle.high)
        low = DecimalText.string(candle.low)
        close = DecimalText.string(candle.close)
        volume = DecimalText.string(candle.volume)
    }
}

public struct CandlesDTO: Encodable, Sendable {
    public var pair: String
    public var intervalMinutes: Int
    public var candles: [CandleDTO]
}

public struct StrategyDTO: Encodable, Sendable {
    public var id: Int64
    public var name: String
    public var kind: String
    public var pair: String
    public var intervalMinutes: Int
    public var enabled: Bool
    public var parameters: [String: Double]
    public var updatedAt: Date
    public var stats: PerformanceDTO?
}

public struct StrategiesDTO: Encodable, Sendable {
    public var strategies: [StrategyDTO]
}

/// The figures of `trading-engine stats` for one strategy or the whole account.
public struct PerformanceDTO: Encodable, Sendable {
    public var trades: Int
    public var wins: Int
    public var losses: Int
    public var winRatePercent: Double?
    public var totalPnL: String
    public var fees: String
    public var averageWin: String?
    public var averageLoss: String?
    public var profitFactor: Double?
    public var maxDrawdownPercent: Double
    public var sharpe: Double?

    init(_ stats: PerformanceStats) {
        trades = stats.trades
        wins = stats.wins
        losses = stats.losses
        winRatePercent = stats.winRatePercent
        totalPnL = DecimalText.string(stats.totalPnL)
        fees = DecimalText.string(stats.fees)
        averageWin = stats.averageWin.map(DecimalText.string)
        averageLoss = stats.averageLoss.map(DecimalText.string)
        profitFactor = stats.profitFactor
        maxDrawdownPercent = stats.maxDrawdownPercent
        sharpe = stats.sharpe
    }
}

public struct PerformanceRowDTO: Encodable, Sendable {
    public var strategyId: Int64?
    public var strategy: String
    public var stats: PerformanceDTO
}

public struct PerformanceReportDTO: Encodable, Sendable {
    public var mode: String
    public var startingBalance: String
    public var strategies: [PerformanceRowDTO]
    public var total: PerformanceDTO
}

public struct PositionDTO: Encodable, Sendable {
    public var strategyId: Int64
    public var strategy: String
    public var pair: String
    public var quantity: String
    public var averagePrice: String
    public var markPrice: String?
    public var unrealisedPnL: String?
    public var unrealisedPercent: Double?
    public var stopLoss: String?
    public var takeProfit: String?
    public var openedAt: Date
}

public struct PositionsDTO: Encodable, Sendable {
    public var mode: String
    public var positions: [PositionDTO]
}

public struct TradeDTO: Encodable, Sendable {
    public var id: Int64
    public var strategyId: Int64?
    public var strategy: String?
    public var pair: String
    public var status: String
    public var quantity: String
    public var entryTime: Date
    public var entryPrice: String
    public var entryFee: String
    public var exitTime: Date?
    public var exitPrice: String?
    public var exitFee: String?
    public var realisedPnL: String?
    public var exitReason: String?
}

public struct TradesPageDTO: Encodable, Sendable {
    public var mode: String
    public var trades: [TradeDTO]
    /// Pass as `cursor` for the next (older) page; null on the last page.
    public var nextCursor: String?
}

public struct EquityPointDTO: Encodable, Sendable {
    public var time: Date
    public var equity: String
    public var cash: String
    public var realisedPnL: String
    public var unrealisedPnL: String
    public var fees: String
}

public struct EquityDTO: Encodable, Sendable {
    public var mode: String
    public var stepSeconds: Int
    public var points: [EquityPointDTO]
}

public struct SignalDTO: Encodable, Sendable {
    public var id: Int64
    public var strategyId: Int64
    public var pair: String
    public var intervalMinutes: Int
    public var candleTime: Date
    public var action: String
    public var reason: String
    public var confidence: Double
    public var price: String
    public var createdAt: Date
}

public struct SignalsDTO: Encodable, Sendable {
    public var signals: [SignalDTO]
}

public struct OrderDTO: Encodable, Sendable {
    public var id: Int64
    public var strategyId: Int64?
    public var clientOrderId: String
    public var exchangeOrderId: String?
    public var mode: String
    public var pair: String
    public var side: String
    public var quantity: String
    public var status: String
    public var filledQuantity: String
    public var averagePrice: String?
    public var fee: String
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public struct OrdersDTO: Encodable, Sendable {
    public var mode: String
    public var orders: [OrderDTO]
}

public struct PauseDTO: Encodable, Sendable {
    public var paused: Bool
    public var by: String
    public var at: Date?
}

public struct ErrorBodyDTO: Encodable, Sendable {
    public struct Detail: Encodable, Sendable {
        public var code: String
        public var message: String
    }
    public var error: Detail
}
