import Foundation

/// Something a service did, announced after its database transaction committed. The database
/// stays the source of truth: a message is a notification (a reader that missed one catches up
/// from storage), never the only copy.
///
/// On the wire (Redis channel `signalcartel:<name>`) each is a JSON object
/// `{"v":1,"event":"<name>","source":"<service>","at":"<ISO-8601 UTC>","data":{…}}`; money and
/// quantities are decimal strings, exactly as stored. A reader ignores versions it does not know.
public enum BusEvent: Sendable, Equatable {
    case candleClosed(Candle)
    case ticker(TickerSnapshot)
    case signal(SignalData)
    case order(OrderData)
    case fill(FillData)
    case tradeClosed(TradeClosedData)
    case serviceState(ServiceStateData)
    case pause(PauseState)

    /// The payload format's version.
    public static let version = 1
    public static let channelPrefix = "signalcartel:"

    /// Every event name, as in `signalcartel:<name>`.
    public static let names = ["candle.closed", "ticker", "signal", "order", "fill", "trade.closed", "service.state", "pause"]

    public static func channel(_ name: String) -> String { channelPrefix + name }

    /// The cache key of a pair's latest ticker (the `ticker` message itself, kept 30 s: no
    /// older than the engine still takes a ticker for a price; the database answers after).
    public static func tickerCacheKey(_ pair: String) -> String { "signalcartel:cache:ticker:\(pair)" }
    public static let tickerCacheSeconds = 30

    /// The events the website's stream shows (each a journal entry); tickers and closed trades
    /// are not journal entries of their own.
    public static let journaled = ["candle.closed", "signal", "order", "fill", "service.state", "pause"]

    public var name: String {
        switch self {
        case .candleClosed: "candle.closed"
        case .ticker: "ticker"
        case .signal: "signal"
        case .order: "order"
        case .fill: "fill"
        case .tradeClosed: "trade.closed"
        case .serviceState: "service.state"
        case .pause: "pause"
        }
    }

    public var channel: String { Self.channel(name) }

    /// The message text published for this event.
    public func payload(source: ServiceName, at time: Date) -> String {
        let header = "{\"v\":\(Self.version),\"event\":\"\(name)\",\"source\":\"\(source.rawValue)\",\"at\":\"\(UTCTime.iso8601(time, fractional: true))\",\"data\":"
        let data: Data
        do {
            data = try Self.encoder.encode(Body(self))
        } catch {
            // Only strings, numbers and booleans: encoding cannot fail.
            data = Data("{}".utf8)
        }
        return header + String(decoding: data, as: UTF8.self) + "}"
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The `data` object of each event.
    struct Body: Encodable {
        let event: BusEvent
        init(_ event: BusEvent) { self.event = event }

        func encode(to encoder: any Encoder) throws {
            switch event {
            case .candleClosed(let candle): try CandleData(candle).encode(to: encoder)
            case .ticker(let ticker): try TickerData(ticker).encode(to: encoder)
            case .signal(let data): try data.encode(to: encoder)
            case .order(let data): try data.encode(to: encoder)
            case .fill(let data): try data.encode(to: encoder)
            case .tradeClosed(let data): try data.encode(to: encoder)
            case .serviceState(let data): try data.encode(to: encoder)
            case .pause(let state):
                try PauseData(paused: state.paused, by: state.by, at: UTCTime.iso8601(state.at, fractional: true)).encode(to: encoder)
            }
        }
    }

    struct CandleData: Codable, Equatable {
        var pair: String
        var interval: Int
        var openTime: String
        var open, high, low, close, vwap, volume: String
        var trades: Int

        init(_ candle: Candle) {
            pair = candle.pair
            interval = candle.intervalMinutes
            openTime = UTCTime.iso8601(candle.openTime, fractional: false)
            open = DecimalText.string(candle.open)
            high = DecimalText.string(candle.high)
            low = DecimalText.string(candle.low)
            close = DecimalText.string(candle.close)
            vwap = DecimalText.string(candle.vwap)
            volume = DecimalText.string(candle.volume)
            trades = candle.tradeCount
        }
    }

    public struct TickerData: Codable, Equatable, Sendable {
        public var pair: String
        public var time: String
        public var bid, ask, last, volume24h, vwap24h, low24h, high24h, openToday: String
        public var trades24h: Int

        /// The stored ticker again (nil when a field is not what a ticker holds).
        public var snapshot: TickerSnapshot? {
            guard let time = UTCTime.parseISO8601(self.time), let bid = DecimalText.parse(bid), let ask = DecimalText.parse(ask),
                  let last = DecimalText.parse(last), let volume = DecimalText.parse(volume24h), let vwap = DecimalText.parse(vwap24h),
                  let low = DecimalText.parse(low24h), let high = DecimalText.parse(high24h), let open = DecimalText.parse(openToday)
            else { return nil }
            return TickerSnapshot(
                pair: pair, time: time, bid: bid, ask: ask, last: last, volume24h: volume, vwap24h: vwap, low24h: low, high24h: high,
                openToday: open, tradeCount24h: trades24h)
        }

        init(_ ticker: TickerSnapshot) {
            pair = ticker.pair
            time = UTCTime.iso8601(ticker.time, fractional: true)
            bid = DecimalText.string(ticker.bid)
            ask = DecimalText.string(ticker.ask)
            last = DecimalText.string(ticker.last)
            volume24h = DecimalText.string(ticker.volume24h)
            vwap24h = DecimalText.string(ticker.vwap24h)
            low24h = DecimalText.string(ticker.low24h)
            high24h = DecimalText.string(ticker.high24h)
            openToday = DecimalText.string(ticker.openToday)
            trades24h = ticker.tradeCount24h
        }
    }

    struct PauseData: Codable, Equatable {
        var paused: Bool
        var by: String
        var at: String
    }

    public struct SignalData: Sendable, Equatable, Codable {
        public var signalId: Int64
        public var strategyId: Int64
        public var pair: String
        public var interval: Int
        public var action: String
        public var reason: String
        public var price: String
        public var candleTime: String

        public init(signalID: Int64, strategyID: Int64, pair: String, interval: Int, signal: StrategySignal, price: Decimal, candleTime: Date) {
            signalId = signalID
            strategyId = strategyID
            self.pair = pair
            self.interval = interval
            action = signal.action.rawValue
            reason = signal.reason
            self.price = DecimalText.string(price)
            self.candleTime = UTCTime.iso8601(candleTime, fractional: false)
        }
    }

    public struct OrderData: Sendable, Equatable, Codable {
        public var orderId: Int64
        public var clientOrderId: String
        public var strategyId: Int64
        public var mode: String
        public var pair: String
        public var side: String
        public var quantity: String
        public var status: String
        public var exchangeOrderId: String?
        public var error: String?

        public init(_ order: OrderRecord, status: OrderRecord.Status, exchangeOrderID: String?, error: String?) {
            orderId = order.id
            clientOrderId = order.clientOrderID
            strategyId = order.strategyID
            mode = order.mode.rawValue
            pair = order.pair
            side = order.side.rawValue
            quantity = DecimalText.string(order.quantity)
            self.status = status.rawValue
            exchangeOrderId = exchangeOrderID
            self.error = error
        }
    }

    public struct FillData: Sendable, Equatable, Codable {
        public var orderId: Int64
        public var strategyId: Int64
        public var pair: String
        public var side: String
        public var quantity: String
        public var price: String
        public var fee: String
        public var time: String

        public init(_ fill: LedgerFill) {
            orderId = fill.orderID
            strategyId = fill.strategyID
            pair = fill.pair
            side = fill.side.rawValue
            quantity = DecimalText.string(fill.fill.quantity)
            price = DecimalText.string(fill.fill.price)
            fee = DecimalText.string(fill.fill.fee)
            time = UTCTime.iso8601(fill.fill.time, fractional: true)
        }
    }

    public struct TradeClosedData: Sendable, Equatable, Codable {
        public var strategyId: Int64
        public var pair: String
        public var quantity: String
        public var entryTime: String
        public var entryPrice: String
        public var exitTime: String
        public var exitPrice: String
        public var fees: String
        public var netPnL: String
        public var exitReason: String

        public init(strategyID: Int64, _ trade: ClosedTrade) {
            strategyId = strategyID
            pair = trade.pair
            quantity = DecimalText.string(trade.quantity)
            entryTime = UTCTime.iso8601(trade.entryTime, fractional: true)
            entryPrice = DecimalText.string(trade.entryPrice)
            exitTime = UTCTime.iso8601(trade.exitTime, fractional: true)
            exitPrice = DecimalText.string(trade.exitPrice)
            fees = DecimalText.string(trade.entryFee + trade.exitFee)
            netPnL = DecimalText.string(trade.netPnL)
            exitReason = trade.exitReason
        }
    }

    public struct ServiceStateData: Sendable, Equatable, Codable {
        public var service: String
        public var state: String
        public var pid: Int32
        public var host: String
        public var version: String

        public init(_ heartbeat: Heartbeat) {
            service = heartbeat.service.rawValue
            state = heartbeat.state.rawValue
            pid = heartbeat.pid
            host = heartbeat.host
            version = heartbeat.version
        }
    }
}

/// What a reader needs from a message to know what it announces: its event and, for candles
/// and tickers, which series. Anything else in it is for other readers.
public struct BusNotice: Sendable, Equatable, Decodable {
    public var v: Int
    public var event: String
    public var source: String
    public var data: Key

    public struct Key: Sendable, Equatable, Decodable {
        public var pair: String?
        public var interval: Int?
    }

    /// The notice in `message`, or nil when it is not ours (another version, malformed JSON,
    /// a channel name that disagrees with its event).
    public static func decode(_ message: RedisMessage) -> BusNotice? {
        guard message.channel.hasPrefix(BusEvent.channelPrefix),
              let notice = try? JSONDecoder().decode(BusNotice.self, from: Data(message.payload)),
              notice.v == BusEvent.version, BusEvent.channel(notice.event) == message.channel
        else { return nil }
        return notice
    }
}

/// A ticker as the cache holds it: the `data` of a `ticker` message.
public struct CachedTicker: Sendable, Decodable {
    public var data: BusEvent.TickerData

    public static func decode(_ bytes: [UInt8]) -> BusEvent.TickerData? {
        guard let message = try? JSONDecoder().decode(CachedTicker.self, from: Data(bytes)) else { return nil }
        return message.data
    }
}

/// A short-lived cache shared by every process (Redis): a miss, or Redis being down, means
/// "read the database".
public protocol SharedCache: Sendable {
    func cached(_ key: String) async -> [UInt8]?
    func cache(_ key: String, _ value: String, ttlSeconds: Int)
    func forget(_ key: String)
}

/// Where services announce what they committed: Redis when `REDIS_URL` is set, else nowhere
/// (readers poll storage, as without Redis). Publishing never waits and never fails the caller.
public protocol EventPublisher: Sendable {
    func publish(_ event: BusEvent)
}

/// Where a service hears announcements (Redis's subscriber connection).
public protocol BusListener: Sendable {
    /// Every delivery from now on.
    func subscribe() -> AsyncStream<RedisLink.Delivery>
}

/// No message bus configured.
public struct NoEventPublisher: EventPublisher {
    public init() {}
    public func publish(_ event: BusEvent) {}
}
