import Foundation

extension KrakenClient {
    // MARK: Public

    public func serverTime() async throws -> KrakenServerTime {
        try await publicCall("Time", as: KrakenServerTime.self)
    }

    public func systemStatus() async throws -> KrakenSystemStatus {
        try await publicCall("SystemStatus", as: KrakenSystemStatus.self)
    }

    public func assetPairs() async throws -> [String: KrakenAssetPair] {
        try await publicCall("AssetPairs", as: [String: KrakenAssetPair].self)
    }

    /// Tickers of several pairs in one call, keyed as Kraken answers (`XXBTZUSD`).
    public func tickers(pairKeys: [String]) async throws -> KrakenTickers {
        try await publicCall("Ticker", [("pair", pairKeys.joined(separator: ","))], as: KrakenTickers.self)
    }

    /// Up to 720 candles after `since` (Kraken's `last` from the previous answer).
    public func ohlc(pairKey: String, intervalMinutes: Int, since: Int? = nil) async throws -> KrakenOHLC {
        var query = [("pair", pairKey), ("interval", "\(intervalMinutes)")]
        if let since { query.append(("since", "\(since)")) }
        return try await publicCall("OHLC", query, as: KrakenOHLC.self)
    }

    public func depth(pairKey: String, count: Int = 100) async throws -> [String: KrakenOrderBook] {
        try await publicCall("Depth", [("pair", pairKey), ("count", "\(count)")], as: [String: KrakenOrderBook].self)
    }

    public func trades(pairKey: String, since: String? = nil) async throws -> KrakenTrades {
        var query = [("pair", pairKey)]
        if let since { query.append(("since", since)) }
        return try await publicCall("Trades", query, as: KrakenTrades.self)
    }

    // MARK: Private

    public func balance() async throws -> [String: Decimal] {
        try await privateCall("Balance", as: [String: KrakenDecimal].self).mapValues(\.value)
    }

    public func tradeBalance(asset: String = "ZUSD") async throws -> KrakenTradeBalance {
        try await privateCall("TradeBalance", [("asset", asset)], as: KrakenTradeBalance.self)
    }

    public func openOrders(userref: Int32? = nil) async throws -> [String: KrakenOrder] {
        let parameters = userref.map { [("userref", "\($0)")] } ?? []
        return try await privateCall("OpenOrders", parameters, as: KrakenOpenOrders.self).open
    }

    /// Closed orders (the most recent 50 that match), optionally only those with `userref`
    /// and opened since `since`.
    public func closedOrders(userref: Int32? = nil, since: Date? = nil) async throws -> [String: KrakenOrder] {
        var parameters = userref.map { [("userref", "\($0)")] } ?? []
        if let since { parameters.append(("start", "\(Int(since.timeIntervalSince1970))")) }
        return try await privateCall("ClosedOrders", parameters, as: KrakenClosedOrders.self).closed
    }

    public func queryOrders(txids: [String]) async throws -> [String: KrakenOrder] {
        try await privateCall("QueryOrders", [("txid", txids.joined(separator: ","))], as: [String: KrakenOrder].self)
    }

    /// Places (or, with `validateOnly`, only validates) an order. Not retried: see the type's notes.
    public func addOrder(_ order: KrakenOrderRequest) async throws -> KrakenAddOrderResult {
        try await privateCall("AddOrder", order.parameters, cost: 0, retry: false, as: KrakenAddOrderResult.self)
    }

    public func cancelOrder(txid: String) async throws -> KrakenCancelResult {
        try await privateCall("CancelOrder", [("txid", txid)], cost: 0, as: KrakenCancelResult.self)
    }
}
