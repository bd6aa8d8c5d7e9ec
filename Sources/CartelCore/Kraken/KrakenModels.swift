import Foundation

/// `Time`: the exchange clock.
public struct KrakenServerTime: Decodable, Sendable, Equatable {
    public let unixtime: Int
    public let rfc1123: String
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(unixtime)) }
}

/// `SystemStatus`: `online`, `maintenance`, `cancel_only` or `post_only`.
public struct KrakenSystemStatus: Decodable, Sendable, Equatable {
    public let status: String
    public let timestamp: String
    public var isOnline: Bool { status == "online" }
}

/// One tradable pair from `AssetPairs`.
public struct KrakenAssetPair: Codable, Sendable, Equatable {
    public let altname: String
    public let wsname: String?
    public let base: String
    public let quote: String
    public let pairDecimals: Int
    public let lotDecimals: Int
    public let ordermin: Decimal?
    public let status: String?

    enum CodingKeys: String, CodingKey {
        case altname, wsname, base, quote, ordermin, status
        case pairDecimals = "pair_decimals"
        case lotDecimals = "lot_decimals"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        altname = try c.decode(String.self, forKey: .altname)
        wsname = try c.decodeIfPresent(String.self, forKey: .wsname)
        base = try c.decode(String.self, forKey: .base)
        quote = try c.decode(String.self, forKey: .quote)
        pairDecimals = try c.decode(Int.self, forKey: .pairDecimals)
        lotDecimals = try c.decode(Int.self, forKey: .lotDecimals)
        ordermin = try c.decodeIfPresent(KrakenDecimal.self, forKey: .ordermin)?.value
        status = try c.decodeIfPresent(String.self, forKey: .status)
    }

    /// Encodes in Kraken's own shape, so a stored copy decodes like a fresh answer.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(altname, forKey: .altname)
        try c.encodeIfPresent(wsname, forKey: .wsname)
        try c.encode(base, forKey: .base)
        try c.encode(quote, forKey: .quote)
        try c.encode(pairDecimals, forKey: .pairDecimals)
        try c.encode(lotDecimals, forKey: .lotDecimals)
        try c.encodeIfPresent(ordermin.map(DecimalText.string), forKey: .ordermin)
        try c.encodeIfPresent(status, forKey: .status)
    }
}

/// One pair's `Ticker` entry. Arrays are Kraken's: `a` = [price, whole lot volume, lot volume],
/// `c` = [price, lot volume], `v`/`p`/`t`/`l`/`h` = [today, last 24 hours], `o` = today's open.
public struct KrakenTicker: Decodable, Sendable, Equatable {
    public let ask: Decimal
    public let bid: Decimal
    public let last: Decimal
    public let volume24h: Decimal
    public let vwap24h: Decimal
    public let tradeCount24h: Int
    public let low24h: Decimal
    public let high24h: Decimal
    public let openToday: Decimal

    enum CodingKeys: String, CodingKey { case a, b, c, v, p, t, l, h, o }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func first(_ key: CodingKeys) throws -> Decimal { try Self.element(c, key, 0) }
        func day(_ key: CodingKeys) throws -> Decimal { try Self.element(c, key, 1) }
        ask = try first(.a)
        bid = try first(.b)
        last = try first(.c)
        volume24h = try day(.v)
        vwap24h = try day(.p)
        low24h = try day(.l)
        high24h = try day(.h)
        openToday = try c.decode(KrakenDecimal.self, forKey: .o).value
        let counts = try c.decode([Int].self, forKey: .t)
        guard counts.count == 2 else {
            throw DecodingError.dataCorruptedError(forKey: .t, in: c, debugDescription: "expected 2 trade counts")
        }
        tradeCount24h = counts[1]
    }

    static func element(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, _ index: Int) throws -> Decimal {
        let values = try c.decode([KrakenDecimal].self, forKey: key)
        guard values.count > index else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "expected at least \(index + 1) values")
        }
        return values[index].value
    }
}

/// `Ticker` result: one entry per pair key as Kraken spells it (`XXBTZUSD`, `XBTUSDT`).
public typealias KrakenTickers = [String: KrakenTicker]

/// One `OHLC` row: `[time, open, high, low, close, vwap, volume, count]`.
public struct KrakenOHLCRow: Decodable, Sendable, Equatable {
    public let time: Int
    public let open, high, low, close, vwap, volume: Decimal
    public let count: Int

    public init(from decoder: any Decoder) throws {
        var row = try decoder.unkeyedContainer()
        time = try row.decode(Int.self)
        open = try row.decode(KrakenDecimal.self).value
        high = try row.decode(KrakenDecimal.self).value
        low = try row.decode(KrakenDecimal.self).value
        close = try row.decode(KrakenDecimal.self).value
        vwap = try row.decode(KrakenDecimal.self).value
        volume = try row.decode(KrakenDecimal.self).value
        count = try row.decode(Int.self)
    }

    /// The row as a ``Candle`` of the user-facing `pair` and `intervalMinutes`.
    public func candle(pair: String, intervalMinutes: Int) -> Candle {
        Candle(
            pair: pair, intervalMinutes: intervalMinutes, openTime: Date(timeIntervalSince1970: TimeInterval(time)),
            open: open, high: high, low: low, close: close, vwap: vwap, volume: volume, tradeCount: count)
    }
}

/// `OHLC` result: the rows under the pair's key, oldest first (the last one is the unfinished
/// candle), and `last`, the `since` to ask with next time.
public struct KrakenOHLC: Decodable, Sendable, Equatable {
    public let pairKey: String
    public let rows: [KrakenOHLCRow]
    public let last: Int

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: DynamicKey.self)
        last = try c.decode(Int.self, forKey: DynamicKey(stringValue: "last"))
        let pairKeys = c.allKeys.filter { $0.stringValue != "last" }
        guard pairKeys.count == 1, let key = pairKeys.first else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: c.codingPath, debugDescription: "expected exactly one pair key, found \(pairKeys.count)"))
        }
        pairKey = key.stringValue
        rows = try c.decode([KrakenOHLCRow].self, forKey: key)
    }
}
