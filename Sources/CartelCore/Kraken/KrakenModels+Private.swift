import Foundation

/// `TradeBalance`: equivalent balance, trade balance, margin, unrealised P&L, cost basis,
/// valuation, equity, free margin (and margin level when positions are open).
public struct KrakenTradeBalance: Decodable, Sendable, Equatable {
    public let equivalentBalance: Decimal
    public let tradeBalance: Decimal
    public let equity: Decimal
    public let freeMargin: Decimal

    enum CodingKeys: String, CodingKey { case eb, tb, e, mf }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        equivalentBalance = try c.decode(KrakenDecimal.self, forKey: .eb).value
        tradeBalance = try c.decode(KrakenDecimal.self, forKey: .tb).value
        equity = try c.decode(KrakenDecimal.self, forKey: .e).value
        freeMargin = try c.decode(KrakenDecimal.self, forKey: .mf).value
    }
}

/// One order from `OpenOrders` / `QueryOrders`.
public struct KrakenOrder: Decodable, Sendable, Equatable {
    /// Kraken's description; legacy answers carry only `order`.
    public struct Description: Decodable, Sendable, Equatable {
        public let pair: String?
        public let type: String?
        public let ordertype: String?
        public let order: String
    }

    public let status: String
    /// Kraken sends an integer, or `""` in legacy answers (nil here).
    public let userref: Int?
    public let openedAt: Date
    public let closedAt: Date?
    public let descr: Description
    public let volume: Decimal
    public let volumeExecuted: Decimal
    public let cost: Decimal
    public let fee: Decimal
    public let averagePrice: Decimal
    public let trades: [String]?

    enum CodingKeys: String, CodingKey {
        case status, userref, opentm, closetm, descr, vol, vol_exec, cost, fee, price, trades
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(String.self, forKey: .status)
        userref = (try? c.decodeIfPresent(Int.self, forKey: .userref)) ?? nil
        openedAt = Date(timeIntervalSince1970: try c.decode(Double.self, forKey: .opentm))
        closedAt = try c.decodeIfPresent(Double.self, forKey: .closetm).map { Date(timeIntervalSince1970: $0) }
        descr = try c.decode(Description.self, forKey: .descr)
        volume = try c.decode(KrakenDecimal.self, forKey: .vol).value
        volumeExecuted = try c.decode(KrakenDecimal.self, forKey: .vol_exec).value
        cost = try c.decode(KrakenDecimal.self, forKey: .cost).value
        fee = try c.decode(KrakenDecimal.self, forKey: .fee).value
        averagePrice = try c.decode(KrakenDecimal.self, forKey: .price).value
        trades = try c.decodeIfPresent([String].self, forKey: .trades)
    }
}

/// `OpenOrders` result.
public struct KrakenOpenOrders: Decodable, Sendable, Equatable {
    public let open: [String: KrakenOrder]
}

/// `ClosedOrders` result: the orders and how many matched in all.
public struct KrakenClosedOrders: Decodable, Sendable, Equatable {
    public let closed: [String: KrakenOrder]
    public let count: Int?
}

/// `AddOrder` result: the description, and the transaction ids (absent with `validate=true`).
public struct KrakenAddOrderResult: Decodable, Sendable, Equatable {
    public struct Description: Decodable, Sendable, Equatable {
        public let order: String
        public let close: String?
    }

    public let descr: Description
    public let txid: [String]?
}

/// `CancelOrder` result.
public struct KrakenCancelResult: Decodable, Sendable, Equatable {
    public let count: Int
    public let pending: Bool?
}

/// An order to place with `AddOrder`.
public struct KrakenOrderRequest: Sendable, Equatable {
    public enum Side: String, Sendable { case buy, sell }
    public enum Kind: Sendable, Equatable {
        case market
        case limit(price: Decimal)
    }

    public var pairKey: String
    public var side: Side
    public var kind: Kind
    public var volume: Decimal
    public var userref: Int32?
    /// `validate=true`: Kraken checks the order and executes nothing.
    public var validateOnly: Bool

    public init(pairKey: String, side: Side, kind: Kind, volume: Decimal, userref: Int32? = nil, validateOnly: Bool) {
        self.pairKey = pairKey
        self.side = side
        self.kind = kind
        self.volume = volume
        self.userref = userref
        self.validateOnly = validateOnly
    }

    /// Form parameters in a fixed order (the signature covers the exact body).
    var parameters: [(String, String)] {
        var fields: [(String, String)] = [("pair", pairKey), ("type", side.rawValue)]
        switch kind {
        case .market: fields.append(("ordertype", "market"))
        case .limit(let price): fields += [("ordertype", "limit"), ("price", DecimalText.string(price))]
        }
        fields.append(("volume", DecimalText.string(volume)))
        // The fee in the quote currency, buying and selling: the ledger books fees in quote
        // (Kraken would otherwise take a sell's fee in the base asset).
        fields.append(("oflags", "fciq"))
        if let userref { fields.append(("userref", "\(userref)")) }
        if validateOnly { fields.append(("validate", "true")) }
        return fields
    }
}

/// `Depth`: asks and bids as [price, volume, timestamp].
public struct KrakenOrderBook: Decodable, Sendable, Equatable {
    public struct Level: Decodable, Sendable, Equatable {
        public let price: Decimal
        public let volume: Decimal
        public let time: Int

        public init(from decoder: any Decoder) throws {
            var row = try decoder.unkeyedContainer()
            price = try row.decode(KrakenDecimal.self).value
            volume = try row.decode(KrakenDecimal.self).value
            time = try row.decode(Int.self)
        }
    }

    public let asks: [Level]
    public let bids: [Level]
}

/// One public trade: [price, volume, time, side, type, misc(, trade id)] (legacy rows have 6).
public struct KrakenPublicTrade: Decodable, Sendable, Equatable {
    public let price: Decimal
    public let volume: Decimal
    public let time: Double
    public let side: String
    public let orderType: String
    public let tradeID: Int?

    public init(from decoder: any Decoder) throws {
        var row = try decoder.unkeyedContainer()
        price = try row.decode(KrakenDecimal.self).value
        volume = try row.decode(KrakenDecimal.self).value
        time = try row.decode(Double.self)
        side = try row.decode(String.self)
        orderType = try row.decode(String.self)
        _ = try row.decode(String.self)
        tradeID = row.isAtEnd ? nil : try row.decode(Int.self)
    }
}

/// `Trades` result: rows under the pair key and `last` (a string, unlike OHLC's integer).
public struct KrakenTrades: Decodable, Sendable, Equatable {
    public let pairKey: String
    public let trades: [KrakenPublicTrade]
    public let last: String

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: DynamicKey.self)
        last = try c.decode(String.self, forKey: DynamicKey(stringValue: "last"))
        guard let key = c.allKeys.first(where: { $0.stringValue != "last" }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "no pair key"))
        }
        pairKey = key.stringValue
        trades = try c.decode([KrakenPublicTrade].self, forKey: key)
    }
}
