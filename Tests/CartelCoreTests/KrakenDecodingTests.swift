import CartelCore
import Foundation
import TestSupport
import Testing

@Suite struct KrakenDecodingTests {
    func fixture(_ name: String) throws -> Data { try Fixtures.data("kraken/\(name)") }

    @Test(arguments: ["kraken_public_Time.json", "kraken_public_Time.legacy-example.json"])
    func timeDecodes(_ name: String) throws {
        let time = try KrakenDecoding.decode(KrakenServerTime.self, from: fixture(name), endpoint: "Time")
        #expect(time.unixtime > 1_500_000_000)
        #expect(!time.rfc1123.isEmpty)
    }

    @Test func systemStatusDecodes() throws {
        let status = try KrakenDecoding.decode(
            KrakenSystemStatus.self, from: fixture("kraken_public_SystemStatus.json"), endpoint: "SystemStatus")
        #expect(status.isOnline)
    }

    @Test func tickerDecodesWithExactDecimals() throws {
        let tickers = try KrakenDecoding.decode(
            KrakenTickers.self, from: fixture("kraken_public_Ticker.json"), endpoint: "Ticker")
        let ticker = try #require(tickers["XXBTZUSD"])
        #expect(ticker.ask == Decimal(string: "30300.1"))
        #expect(ticker.bid == Decimal(string: "30300.0"))
        #expect(ticker.last == Decimal(string: "30303.2"))
        #expect(ticker.volume24h == Decimal(string: "4412.73601799"))
        #expect(ticker.vwap24h == Decimal(string: "30689.13205"))
        #expect(ticker.tradeCount24h == 38907)
        #expect(ticker.openToday == Decimal(string: "30502.8"))
    }

    @Test(arguments: ["kraken_public_Ticker.legacy-example.json", "kraken_public_Ticker_XBTUSDT.ccxt-fixture.json"])
    func otherTickerAnswersDecode(_ name: String) throws {
        let tickers = try KrakenDecoding.decode(KrakenTickers.self, from: fixture(name), endpoint: "Ticker")
        #expect(!tickers.isEmpty)
        for ticker in tickers.values { #expect(ticker.ask >= ticker.bid) }
    }

    @Test func ohlcDecodesRowsAndLast() throws {
        let ohlc = try KrakenDecoding.decode(KrakenOHLC.self, from: fixture("kraken_public_OHLC.json"), endpoint: "OHLC")
        #expect(ohlc.pairKey == "XXBTZUSD")
        #expect(ohlc.last == 1_688_672_160)
        try #require(ohlc.rows.count >= 4)
        let candle = ohlc.rows[0].candle(pair: "BTC/USD", intervalMinutes: 1)
        #expect(candle.openTime == Date(timeIntervalSince1970: 1_688_671_200))
        #expect(candle.open == Decimal(string: "30306.1"))
        #expect(candle.volume == Decimal(string: "3.39243896"))
        #expect(candle.tradeCount == 23)
    }

    @Test func theLegacyOHLCWithADuplicatedCandleDecodes() throws {
        let ohlc = try KrakenDecoding.decode(
            KrakenOHLC.self, from: fixture("kraken_public_OHLC.legacy-example.json"), endpoint: "OHLC")
        try #require(ohlc.rows.count == 2)
        #expect(ohlc.rows[0] == ohlc.rows[1])
    }

    @Test func assetPairsDecode() throws {
        let pairs = try KrakenDecoding.decode(
            [String: KrakenAssetPair].self, from: fixture("kraken_public_AssetPairs.json"), endpoint: "AssetPairs")
        let btc = try #require(pairs["XXBTZUSD"])
        #expect(btc.altname == "XBTUSD")
        #expect(btc.lotDecimals == 8)
        #expect(btc.ordermin == Decimal(string: "0.0001"))
    }

    @Test(arguments: Fixtures.names(in: "kraken", prefix: "kraken_error_"))
    func everyErrorSampleThrowsItsClassifiedError(_ name: String) throws {
        let messages = try #require(try Fixtures.json("kraken/\(name)")["error"] as? [String])
        try #require(!messages.isEmpty)
        let expected: KrakenError.Kind = switch messages[0] {
        case let m where m.hasPrefix("EAPI:Rate limit") || m.hasPrefix("EService:")
            || m.hasPrefix("EGeneral:Temporary lockout") || m.hasPrefix("EAPI:Invalid nonce"): .retryLater
        case let m where m.hasPrefix("EOrder:") || m.hasPrefix("EGeneral:Invalid arguments"): .orderRejected
        default: .fixConfiguration
        }
        let error = #expect(throws: KrakenError.self) {
            try KrakenDecoding.decode(KrakenTickers.self, from: fixture(name), endpoint: "Ticker")
        }
        #expect(error?.kind == expected, "\(name)")
        #expect(error?.message.contains(messages[0]) == true)
    }

    @Test func theNamedErrorClassesMapAsDocumented() {
        #expect(KrakenError.classify(["EAPI:Rate limit exceeded"])?.kind == .retryLater)
        #expect(KrakenError.classify(["EService:Unavailable"])?.kind == .retryLater)
        #expect(KrakenError.classify(["EAPI:Invalid key"])?.kind == .fixConfiguration)
        #expect(KrakenError.classify(["EAPI:Invalid signature"])?.kind == .fixConfiguration)
        #expect(KrakenError.classify(["EGeneral:Permission denied"])?.kind == .fixConfiguration)
        #expect(KrakenError.classify(["EQuery:Unknown asset pair"])?.kind == .fixConfiguration)
        #expect(KrakenError.classify(["EOrder:Insufficient funds"])?.kind == .orderRejected)
        #expect(KrakenError.classify(["EGeneral:Invalid arguments:ordertype"])?.kind == .orderRejected)
        #expect(KrakenError.classify(["WGeneral:Something"]) == nil)
        #expect(KrakenError.classify([]) == nil)
    }

    @Test(arguments: [
        "<html><body>502 Bad Gateway</body></html>", "", "{\"error\":[],\"result\":{\"XXBTZUSD\":{\"a\":[\"1\"",
        "{\"error\":[],\"result\":{\"XXBTZUSD\":{\"a\":[\"abc\",\"1\",\"1\"]}}}", "null", "[1,2]",
    ])
    func malformedBodiesAreRetryLaterErrorsNeverCrashes(_ body: String) {
        let error = #expect(throws: KrakenError.self) {
            try KrakenDecoding.decode(KrakenTickers.self, from: Data(body.utf8), endpoint: "Ticker")
        }
        #expect(error?.kind == .retryLater)
        #expect(error?.message.hasPrefix("Ticker: ") == true)
    }

    @Test func pairsMapBetweenUserNamesAndKrakenKeys() throws {
        let pairs = try KrakenDecoding.decode(
            [String: KrakenAssetPair].self, from: fixture("kraken_public_AssetPairs.json"), endpoint: "AssetPairs")
        let directory = KrakenPairDirectory(pairs: pairs)
        #expect(try directory.resolve("BTC/USD").key == "XXBTZUSD")
        #expect(try directory.resolve("eth/btc").key == "XETHXXBT")
        #expect(directory.userName(forKey: "XXBTZUSD") == "BTC/USD")
        #expect(directory.userName(forKey: "XETHXXBT") == "ETH/BTC")
        #expect(KrakenPairDirectory.commonAsset("XDG") == "DOGE")
        #expect(KrakenPairDirectory.commonAsset("ZUSD") == "USD")
        #expect(throws: KrakenError.self) { try directory.resolve("DOGE/USD") }
        #expect(throws: KrakenError.self) { try directory.resolve("BTCUSD") }
    }
}

/// Every Kraken answer in the fixtures decodes as it is, with the decoder its endpoint uses.
@Suite struct KrakenFixtureCoverageTests {
    static func decode(_ name: String) throws -> Int {
        let data = try Fixtures.data("kraken/\(name)")
        let endpoint = String(name.dropFirst("kraken_public_".count).prefix { $0 != "." && $0 != "_" })
        switch name {
        case let n where n.hasPrefix("kraken_public_Time"): return try KrakenDecoding.decode(KrakenServerTime.self, from: data, endpoint: endpoint).unixtime > 0 ? 1 : 0
        case let n where n.hasPrefix("kraken_public_SystemStatus"): return try KrakenDecoding.decode(KrakenSystemStatus.self, from: data, endpoint: endpoint).status.isEmpty ? 0 : 1
        case let n where n.hasPrefix("kraken_public_AssetPairs"): return try KrakenDecoding.decode([String: KrakenAssetPair].self, from: data, endpoint: endpoint).count
        case let n where n.hasPrefix("kraken_public_Ticker"): return try KrakenDecoding.decode(KrakenTickers.self, from: data, endpoint: endpoint).count
        case let n where n.hasPrefix("kraken_public_OHLC"): return try KrakenDecoding.decode(KrakenOHLC.self, from: data, endpoint: endpoint).rows.count
        case let n where n.hasPrefix("kraken_public_Depth"): return try KrakenDecoding.decode([String: KrakenOrderBook].self, from: data, endpoint: endpoint).values.first?.asks.count ?? 0
        case let n where n.hasPrefix("kraken_public_Trades"): return try KrakenDecoding.decode(KrakenTrades.self, from: data, endpoint: endpoint).trades.count
        case let n where n.hasPrefix("kraken_private_Balance"): return try KrakenDecoding.decode([String: KrakenDecimal].self, from: data, endpoint: "Balance").count
        case let n where n.hasPrefix("kraken_private_TradeBalance"): return try KrakenDecoding.decode(KrakenTradeBalance.self, from: data, endpoint: "TradeBalance").equity > 0 ? 1 : 0
        case let n where n.hasPrefix("kraken_private_OpenOrders"): return try KrakenDecoding.decode(KrakenOpenOrders.self, from: data, endpoint: "OpenOrders").open.count
        case let n where n.hasPrefix("kraken_private_QueryOrders"): return try KrakenDecoding.decode([String: KrakenOrder].self, from: data, endpoint: "QueryOrders").count
        case let n where n.hasPrefix("kraken_private_AddOrder"): return try KrakenDecoding.decode(KrakenAddOrderResult.self, from: data, endpoint: "AddOrder").descr.order.isEmpty ? 0 : 1
        case let n where n.hasPrefix("kraken_private_CancelOrder"): return try KrakenDecoding.decode(KrakenCancelResult.self, from: data, endpoint: "CancelOrder").count
        default: throw KrakenError(.fixConfiguration, "no decoder mapped for \(name)")
        }
    }

    @Test(arguments: Fixtures.names(in: "kraken", prefix: "kraken_public_") + Fixtures.names(in: "kraken", prefix: "kraken_private_"))
    func everyAnswerFixtureDecodes(_ name: String) throws {
        #expect(try Self.decode(name) > 0, "\(name) decoded to nothing")
    }

    @Test func theFixtureFolderIsWhereTheTestsLook() {
        #expect(Fixtures.names(in: "kraken", prefix: "kraken_").count >= 39)
    }

    @Test func legacyQuirksSurvive() throws {
        let open = try KrakenDecoding.decode(
            KrakenOpenOrders.self, from: Fixtures.data("kraken/kraken_private_OpenOrders.legacy-example.json"), endpoint: "OpenOrders")
        #expect(open.open.values.allSatisfy { $0.userref == nil })  // userref '' in the legacy example
        let trades = try KrakenDecoding.decode(
            KrakenTrades.self, from: Fixtures.data("kraken/kraken_public_Trades.legacy-example.json"), endpoint: "Trades")
        #expect(trades.trades.allSatisfy { $0.tradeID == nil })  // 6-field rows
        let time = try KrakenDecoding.decode(
            KrakenServerTime.self, from: Fixtures.data("kraken/kraken_public_Time.legacy-example.json"), endpoint: "Time")
        #expect(time.rfc1123.contains("  9 Jan"))
    }
}
