import Foundation

/// One ticker poll of one pair, as stored in `tickers`.
public struct TickerSnapshot: Sendable, Equatable {
    public var pair: String
    public var time: Date
    public var bid: Decimal
    public var ask: Decimal
    public var last: Decimal
    public var volume24h: Decimal
    public var vwap24h: Decimal
    public var low24h: Decimal
    public var high24h: Decimal
    public var openToday: Decimal
    public var tradeCount24h: Int

    public init(
        pair: String, time: Date, bid: Decimal, ask: Decimal, last: Decimal, volume24h: Decimal,
        vwap24h: Decimal, low24h: Decimal, high24h: Decimal, openToday: Decimal, tradeCount24h: Int
    ) {
        self.pair = pair
        self.time = time
        self.bid = bid
        self.ask = ask
        self.last = last
        self.volume24h = volume24h
        self.vwap24h = vwap24h
        self.low24h = low24h
        self.high24h = high24h
        self.openToday = openToday
        self.tradeCount24h = tradeCount24h
    }

    public init(pair: String, time: Date, ticker: KrakenTicker) {
        self.init(
            pair: pair, time: time, bid: ticker.bid, ask: ticker.ask, last: ticker.last,
            volume24h: ticker.volume24h, vwap24h: ticker.vwap24h, low24h: ticker.low24h,
            high24h: ticker.high24h, openToday: ticker.openToday, tradeCount24h: ticker.tradeCount24h)
    }
}

/// The `market_data_collection` row of one pair.
public struct CollectionStatus: Sendable, Equatable {
    public var pair: String
    public var status: String
    public var dataPoints: Int
    public var oldest: Date?
    public var newest: Date?
    public var lastError: String?
    public var errorCount: Int
    public var lastCollected: Date?
}
