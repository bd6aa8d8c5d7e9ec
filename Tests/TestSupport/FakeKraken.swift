import CartelCore
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A fake Kraken REST server on a free loopback port (Hummingbird), for tests and soak runs.
///
/// It answers from the fixtures in `Tests/Fixtures`, serves scripted candle series for `OHLC` (honouring
/// `since` and `last` like Kraken), can be told to answer the next calls of an endpoint with
/// any failure (error samples, HTTP 5xx with HTML, truncated JSON, slow answers), and verifies
/// the `API-Sign` of every private request the way Kraken does.
public final class FakeKraken: Sendable {
    public enum Answer: Sendable {
        /// A fixture file from `Tests/Fixtures/kraken`.
        case fixture(String)
        case json(String)
        /// An HTTP status with a body (e.g. 502 and an HTML page).
        case status(Int, String)
        /// The first half of a fixture's bytes.
        case truncated(String)
        /// Waits, then answers.
        indirect case delayed(Duration, Answer)
        /// For `AddOrder` with the exchange open: executes the order, then answers with the inner
        /// answer instead of the order's (a placement whose answer is lost).
        indirect case executed(then: Answer)
    }

    public struct Request: Sendable {
        public var endpoint: String
        public var method: String
        public var query: [String: String]
        public var body: String
        /// For private calls: whether API-Key and API-Sign matched.
        public var signatureValid: Bool?
    }

    let state: FakeKrakenState
    public let apiKey = "fake-api-key"
    public let secretBase64: String

    public init(secretBase64: String = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==") {
        self.secretBase64 = secretBase64
        state = FakeKrakenState()
    }

    /// Queues answers for the next calls of `endpoint` (then it returns to its default).
    public func enqueue(_ endpoint: String, _ answers: Answer...) async { await state.enqueue(endpoint, answers) }
    /// Sets the answer for every call of `endpoint` that has nothing queued.
    public func setDefault(_ endpoint: String, _ answer: Answer) async { await state.setDefault(endpoint, answer) }
    /// Opens a simulated account: from now on `AddOrder` (without `validate`) places market
    /// orders that execute at once at `prices[pairKey]` with a `feePercent` fee, moving
    /// `balances`; `OpenOrders`, `ClosedOrders` (honouring `userref`), `QueryOrders` and
    /// `Balance` answer from that account, as Kraken does.
    public func openExchange(balances: [String: Decimal], prices: [String: Decimal], feePercent: Decimal = Decimal(string: "0.26")!) async {
        await state.openExchange(FakeExchange(balances: balances, prices: prices, feePercent: feePercent))
    }
    /// Moves an asset's balance of the simulated account (a deposit, a withdrawal, a trade made by hand).
    public func adjustBalance(_ asset: String, by amount: Decimal) async { await state.adjustBalance(asset, by: amount) }
    /// Changes the price orders of a pair execute at.
    public func setPrice(_ price: Decimal, pairKey: String) async { await state.setPrice(price, pairKey: pairKey) }
    /// The simulated account's orders and balances (nil while no exchange is open).
    public func exchange() async -> FakeExchange? { await state.exchange }

    /// Sets the candle series `OHLC` serves for a Kraken pair key and interval (oldest first).
    public func setCandles(pairKey: String, interval: Int, _ rows: [FakeCandle]) async {
        await state.setCandles(pairKey: pairKey, interval: interval, rows)
    }
    /// Serves `OHLC` for a pair key and interval from the wall clock: the 720 candles up to and
    /// including the one under way now, each closing at `close(candle index)` (index = open time
    /// / interval). A new candle appears the moment its interval starts, as on Kraken.
    public func setLiveCandles(pairKey: String, interval: Int, close: @escaping @Sendable (Int) -> String) async {
        await state.setLive(pairKey: pairKey, interval: interval, close: close)
    }
    public func requests() async -> [Request] { await state.requests }

    /// Builds the application listening on `port` (0 = any free port; the port is reported by
    /// `onServerRunning`).
    public func application(port: Int, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let state = self.state
        let signer = try! KrakenSigner(secretBase64: secretBase64)
        let apiKey = self.apiKey
        router.get("/0/public/:endpoint") { request, context -> Response in
            let endpoint = try context.parameters.require("endpoint")
            let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })
            await state.record(Request(endpoint: endpoint, method: "GET", query: query, body: "", signatureValid: nil))
            return try await Self.respond(await state.answer(endpoint: endpoint, query: query))
        }
        router.post("/0/private/:endpoint") { request, context -> Response in
            let endpoint = try context.parameters.require("endpoint")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let fields = Dictionary(body.split(separator: "&").map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : "")
            }, uniquingKeysWith: { $1 })
            let nonce = fields["nonce"] ?? ""
            let expected = signer.sign(uriPath: "/0/private/\(endpoint)", nonce: nonce, body: body)
            let valid = request.headers[.init("API-Key")!] == apiKey && request.headers[.init("API-Sign")!] == expected
            await state.record(Request(endpoint: endpoint, method: "POST", query: fields, body: body, signatureValid: valid))
            if !valid { return try await Self.respond(.json(#"{"error":["EAPI:Invalid signature"]}"#)) }
            guard await state.acceptNonce(nonce) else { return try await Self.respond(.json(#"{"error":["EAPI:Invalid nonce"]}"#)) }
            return try await Self.respond(await state.answer(endpoint: endpoint, query: fields))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "fake-kraken"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: Logger(label: "fake-kraken", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func respond(_ answer: Answer) async throws -> Response {
        switch answer {
        case .fixture(let name):
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try Fixtures.data("kraken/\(name)"))))
        case .json(let text):
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        case .status(let code, let text):
            return Response(status: .init(code: code), headers: [.contentType: "text/html"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        case .truncated(let name):
            let data = try Fixtures.data("kraken/\(name)")
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data.prefix(data.count / 2))))
        case .delayed(let delay, let inner):
            try await Task.sleep(for: delay)
            return try await respond(inner)
        case .executed(let inner):
            return try await respond(inner)
        }
    }
}

/// One scripted candle: open time (Unix seconds) and prices as Kraken strings.
public struct FakeCandle: Sendable, Equatable {
    public var time: Int
    public var open, high, low, close, vwap, volume: String
    public var count: Int

    public init(time: Int, close: String, volume: String = "1.5", count: Int = 3) {
        self.time = time
        self.open = close
        self.high = close
        self.low = close
        self.close = close
        self.vwap = close
        self.volume = volume
        self.count = count
    }

    var json: String { #"[\#(time),"\#(open)","\#(high)","\#(low)","\#(close)","\#(vwap)","\#(volume)",\#(count)]"# }
}

actor FakeKrakenState {
    var queued: [String: [FakeKraken.Answer]] = [:]
    var defaults: [String: FakeKraken.Answer] = [
        "Time": .fixture("kraken_public_Time.json"), "SystemStatus": .fixture("kraken_public_SystemStatus.json"),
        "AssetPairs": .fixture("kraken_public_AssetPairs.json"), "Ticker": .fixture("kraken_public_Ticker.json"),
        "Depth": .fixture("kraken_public_Depth.json"), "Trades": .fixture("kraken_public_Trades.json"),
        "Balance": .fixture("kraken_private_Balance.json"), "TradeBalance": .fixture("kraken_private_TradeBalance.json"),
        "OpenOrders": .fixture("kraken_private_OpenOrders.json"), "QueryOrders": .fixture("kraken_private_QueryOrders.json"),
        "AddOrder": .fixture("kraken_private_AddOrder.json"), "CancelOrder": .fixture("kraken_private_CancelOrder.json"),
    ]
    var candles: [String: [FakeCandle]] = [:]
    var live: [String: @Sendable (Int) -> String] = [:]
    var requests: [FakeKraken.Request] = []
    var lastNonce: UInt64 = 0

    func enqueue(_ endpoint: String, _ answers: [FakeKraken.Answer]) { queued[endpoint, default: []] += answers }
    func setDefault(_ endpoint: String, _ answer: FakeKraken.Answer) { defaults[endpoint] = answer }
    func setCandles(pairKey: String, interval: Int, _ rows: [FakeCandle]) { candles["\(pairKey)|\(interval)"] = rows }
    func setLive(pairKey: String, interval: Int, close: @escaping @Sendable (Int) -> String) { live["\(pairKey)|\(interval)"] = close }
    func record(_ request: FakeKraken.Request) {
        requests.append(request)
        if requests.count > 10_000 { requests.removeFirst(5_000) }  // bounded for soak runs
    }

    func acceptNonce(_ text: String) -> Bool {
        guard let nonce = UInt64(text), nonce > lastNonce else { return false }
        lastNonce = nonce
        return true
    }

    var exchange: FakeExchange?

    func openExchange(_ account: FakeExchange) { exchange = account }
    func setPrice(_ price: Decimal, pairKey: String) { exchange?.prices[pairKey] = price }
    func adjustBalance(_ asset: String, by amount: Decimal) { exchange?.balances[asset, default: 0] += amount }

    func answer(endpoint: String, query: [String: String]) -> FakeKraken.Answer {
        if var queue = queued[endpoint], !queue.isEmpty {
            let next = queue.removeFirst()
            queued[endpoint] = queue
            if case .executed(let inner) = next, exchange != nil {
                _ = exchange?.place(query)
                return inner
            }
            return next
        }
        if exchange != nil, let answer = exchange?.answer(endpoint: endpoint, query: query) { return answer }
        if endpoint == "OHLC", let pair = query["pair"], let close = live["\(pair)|\(query["interval"] ?? "1")"] {
            let step = 60 * (Int(query["interval"] ?? "1") ?? 1)
            let current = Int(Date().timeIntervalSince1970) / step * step
            let rows = (0..<720).map { offset in
                let time = current - (719 - offset) * step
                return FakeCandle(time: time, close: close(time / step))
            }
            return Self.ohlc(pair: pair, rows: rows, since: Int(query["since"] ?? "") ?? 0)
        }
        if endpoint == "OHLC", let pair = query["pair"], let rows = candles["\(pair)|\(query["interval"] ?? "1")"] {
            return Self.ohlc(pair: pair, rows: rows, since: Int(query["since"] ?? "") ?? 0)
        }
        return defaults[endpoint] ?? .json(#"{"error":["EGeneral:Unknown method"]}"#)
    }

    /// Like Kraken: rows from `since` on (at most 720), `last` = the newest closed candle.
    static func ohlc(pair: String, rows: [FakeCandle], since: Int) -> FakeKraken.Answer {
        let selected = Array(rows.filter { $0.time > since }.suffix(720))
        let last = rows.count >= 2 ? rows[rows.count - 2].time : (rows.last?.time ?? since)
        let body = selected.map(\.json).joined(separator: ",")
        return .json(#"{"error":[],"result":{"\#(pair)":[\#(body)],"last":\#(last)}}"#)
    }
}

/// Runs a ``FakeKraken`` in the background for the duration of `body`, then stops it and
/// waits until its port is closed.
public func withFakeKraken<T: Sendable>(
    _ fake: FakeKraken = FakeKraken(), port: Int = 0, _ body: (FakeKraken, String) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = fake.application(port: port) { continuation.yield($0) }
    let task = Task { try await app.runService(gracefulShutdownSignals: []) }
    var iterator = ports.makeAsyncIterator()
    guard let actual = await iterator.next() else {
        task.cancel()
        throw CancellationError()
    }
    do {
        let result = try await body(fake, "http://127.0.0.1:\(actual)")
        task.cancel()
        _ = await task.result
        return result
    } catch {
        task.cancel()
        _ = await task.result
        throw error
    }
}

/// A simulated Kraken account behind the fake: market orders execute at once at a set price,
/// balances move, and the order endpoints answer from its book the way Kraken does.
public struct FakeExchange: Sendable {
    public struct Order: Sendable {
        public var txid: String
        public var userref: Int?
        public var pairKey: String
        public var side: String
        public var volume: Decimal
        public var price: Decimal
        public var cost: Decimal
        public var fee: Decimal
        public var openedAt: Double
    }

    public var balances: [String: Decimal]
    public var prices: [String: Decimal]
    public var feePercent: Decimal
    public private(set) var orders: [Order] = []

    /// Base and quote asset codes of the fixture's pairs.
    static let assets = ["XXBTZUSD": ("XXBT", "ZUSD"), "XETHXXBT": ("XETH", "XXBT")]

    public init(balances: [String: Decimal], prices: [String: Decimal], feePercent: Decimal) {
        self.balances = balances
        self.prices = prices
        self.feePercent = feePercent
    }

    mutating func answer(endpoint: String, query: [String: String]) -> FakeKraken.Answer? {
        switch endpoint {
        case "AddOrder" where query["validate"] != "true":
            guard let order = place(query) else { return .json(#"{"error":["EOrder:Unknown asset pair"]}"#) }
            return .json(#"{"error":[],"result":{"descr":{"order":"\#(order.side) \#(order.volume) \#(order.pairKey) @ market"},"txid":["\#(order.txid)"]}}"#)
        case "Balance":
            let fields = balances.sorted { $0.key < $1.key }.map { #""\#($0.key)":"\#($0.value)""# }.joined(separator: ",")
            return .json(#"{"error":[],"result":{\#(fields)}}"#)
        case "OpenOrders":
            return .json(#"{"error":[],"result":{"open":{}}}"#)
        case "ClosedOrders":
            let since = Double(query["start"] ?? "") ?? 0
            let matching = orders.filter { order in
                (query["userref"].map { Int($0) == order.userref } ?? true) && order.openedAt >= since
            }
            return .json(#"{"error":[],"result":{"closed":{\#(Self.json(matching))},"count":\#(matching.count)}}"#)
        case "QueryOrders":
            let ids = Set((query["txid"] ?? "").split(separator: ",").map(String.init))
            return .json(#"{"error":[],"result":{\#(Self.json(orders.filter { ids.contains($0.txid) }))}}"#)
        default:
            return nil
        }
    }

    /// Executes a market order from `AddOrder`'s form fields; nil for an unknown pair.
    @discardableResult
    mutating func place(_ query: [String: String]) -> Order? {
        guard let key = query["pair"], let (base, quote) = Self.assets[key], let price = prices[key],
            let volume = Decimal(string: query["volume"] ?? ""), let side = query["type"]
        else { return nil }
        let cost = (volume * price).rounded(5, .plain)
        let fee = (cost * feePercent / 100).rounded(5, .plain)
        if side == "buy" {
            balances[quote, default: 0] -= cost + fee
            balances[base, default: 0] += volume
        } else {
            balances[base, default: 0] -= volume
            balances[quote, default: 0] += cost - fee
        }
        let order = Order(
            txid: "OFAKE\(orders.count + 1)-SIMUL-ATED", userref: query["userref"].flatMap { Int($0) }, pairKey: key, side: side,
            volume: volume, price: price, cost: cost, fee: fee, openedAt: Date().timeIntervalSince1970)
        orders.append(order)
        return order
    }

    static func json(_ orders: [Order]) -> String {
        orders.map { order in
            #""\#(order.txid)":{"refid":null,"userref":\#(order.userref ?? 0),"status":"closed","reason":null,"opentm":\#(order.openedAt),"closetm":\#(order.openedAt + 0.5),"starttm":0,"expiretm":0,"descr":{"pair":"\#(order.pairKey)","type":"\#(order.side)","ordertype":"market","price":"0","price2":"0","leverage":"none","order":"\#(order.side) \#(order.volume) \#(order.pairKey) @ market","close":""},"vol":"\#(order.volume)","vol_exec":"\#(order.volume)","cost":"\#(order.cost)","fee":"\#(order.fee)","price":"\#(order.price)","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq","trades":["T\#(order.txid)"]}"#
        }.joined(separator: ",")
    }
}
