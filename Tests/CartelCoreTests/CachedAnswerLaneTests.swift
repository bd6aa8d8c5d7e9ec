@testable import CartelCore
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import TestSupport
import Testing

/// The cached-answer lane in the website's real HTTP/1 pipeline (a live server on loopback,
/// spoken to over a plain socket so every byte of the answers can be compared): it gives the
/// router's answer, byte for byte, only for what the access rules let through, in order, and
/// never after the data it depends on has changed.
@Suite struct CachedAnswerLaneTests {
    static let password = "correct horse battery"
    static let token = "0123456789abcdef0123456789abcdef"
    static let candles = "/api/candles?pair=BTC/USD&interval=60&limit=3"
    let dir: TemporaryDirectory
    let salt = Data(repeating: 7, count: 32)

    init() throws { dir = try TemporaryDirectory(prefix: "lane") }

    /// A seeded website on a free loopback port, its event hub following the database (the
    /// candles' cache marker), and the storage to write more.
    func withWebsite(password: Bool = false, _ body: @escaping @Sendable (_ port: Int, _ storage: SQLiteStorage) async throws -> Void) async throws {
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        _ = try await DashboardSeed.seed(storage, cycles: 4)
        let logger = Logger(label: "lane-test")
        let configuration = WebsiteConfiguration(
            service: ServiceConfiguration(service: .website, database: .sqlite(path: dir.file("db.sqlite"))),
            password: password ? Self.password : nil, apiToken: password ? Self.token : nil, logDirectory: dir.file("logs"))
        let hub = EventHub(storage: OpenStorage(storage), clock: SystemTime(), maxClients: 4, poll: .milliseconds(50), logger: logger)
        let following = Task { try await hub.run() }
        defer { following.cancel() }
        while hub.followed.load(ordering: .relaxed) < 0 { try await Task.sleep(for: .milliseconds(20)) }
        let app = WebsiteApp.buildApplication(
            configuration: configuration, storage: OpenStorage(storage), identity: .current(), parts: .init(hub: hub, sessionSalt: salt),
            logger: logger)
        try await app.test(.live) { client in
            try await body(try #require(client.port), storage)
        }
    }

    /// The lane's answers so far, from `/metrics` (itself never a lane answer; the token is
    /// ignored without a password).
    static func laneAnswers(_ port: Int) async throws -> Int {
        let metrics = try await RawHTTP.exchange(port: port, [RawHTTP.get("/metrics", headers: ["Authorization": "Bearer \(token)"])])[0]
        #expect(metrics.status == 200)
        let line = try #require(metrics.text.split(separator: "\n").first { $0.hasPrefix("website_http_cached_lane_answers_total ") })
        return try #require(Int(line.split(separator: " ").last ?? ""))
    }

    @Test func aRepeatedReadIsAnsweredByTheLaneWithTheRoutersBytes() async throws {
        defer { dir.remove() }
        try await withWebsite { port, _ in
            for path in [Self.candles, "/api/health"] {
                let before = try await Self.laneAnswers(port)
                // The router's answer, which fills the cache, then the lane's (health's is good for
                // half a second: nothing else runs between the two).
                let first = try await RawHTTP.exchange(port: port, [RawHTTP.get(path)])[0]
                let second = try await RawHTTP.exchange(port: port, [RawHTTP.get(path)])[0]
                #expect(try await Self.laneAnswers(port) == before + 1, "\(path) was not answered by the lane")
                #expect(first.status == 200 && second.status == 200)
                #expect(second.body == first.body)
                // Every header the same, in the same order; only the clock's may move.
                #expect(second.headers.filter { $0.0 != "Date" }.map { "\($0.0): \($0.1)" } == first.headers.filter { $0.0 != "Date" }.map { "\($0.0): \($0.1)" })
                let date = try #require(second.headers.first { $0.0 == "Date" }?.1)
                #expect(date.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT/) != nil)
            }
            // Counted as the router counts: by route template, method and status.
            let metrics = try await RawHTTP.exchange(port: port, [RawHTTP.get("/metrics")])[0].text
            #expect(metrics.contains(#"website_http_requests_total{route="/api/candles",method="GET",status="200"} 2"#))
            #expect(metrics.contains(#"website_http_requests_total{route="/api/health",method="GET",status="200"} 2"#))
            // The same query with a parameter more is not the cached one: the route refuses it.
            let extra = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles + "&colour=red")])[0]
            #expect(extra.status == 400 && extra.text.contains("colour"))
            let health = try await RawHTTP.exchange(port: port, [RawHTTP.get("/api/health?verbose=1")])[0]
            #expect(health.status == 400)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInTheOrderTheyWereSent() async throws {
        defer { dir.remove() }
        try await withWebsite { port, _ in
            _ = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles), RawHTTP.get("/api/health")])  // both cached now
            // A read the router must answer first, then two the lane could: all in one write.
            for _ in 0..<5 {
                let answers = try await RawHTTP.exchange(
                    port: port, [RawHTTP.get("/api/status"), RawHTTP.get(Self.candles), RawHTTP.get("/api/health"), RawHTTP.get("/api/markets")])
                #expect(answers.map(\.status) == [200, 200, 200, 200])
                #expect(HTTP.json(answers[0].text)["services"] != nil)
                #expect((HTTP.json(answers[1].text)["candles"] as? [Any])?.count == 3)
                #expect(HTTP.json(answers[2].text)["status"] != nil)
                #expect(HTTP.json(answers[3].text)["markets"] != nil)
            }
            // A request that asks to close is the router's, and the connection closes after it.
            let before = try await Self.laneAnswers(port)
            let closing = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: ["Connection": "close"])], untilClosed: true)
            #expect(closing.map(\.status) == [200])
            #expect(try await Self.laneAnswers(port) == before)
        }
    }

    @Test func theLaneAnswersOnlyWhatTheAccessRulesAllow() async throws {
        defer { dir.remove() }
        try await withWebsite(password: true) { port, _ in
            let bearer = ["Authorization": "Bearer \(Self.token)"]
            #expect(try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: bearer)])[0].status == 200)  // cached now
            var before = try await Self.laneAnswers(port)
            let anonymous = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles)])[0]
            #expect(anonymous.status == 401 && anonymous.text.contains("unauthorized"))
            let wrong = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: ["Authorization": "Bearer nope"])])[0]
            #expect(wrong.status == 401 && wrong.text.contains("not valid"))
            let forged = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: ["Cookie": "sc_session=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAA.x"])])[0]
            #expect(forged.status == 401)
            #expect(try await Self.laneAnswers(port) == before)

            // A genuine session and the token are answered by the lane.
            let configuration = WebsiteConfiguration(
                service: ServiceConfiguration(service: .website, database: .sqlite(path: dir.file("db.sqlite"))),
                password: Self.password, apiToken: Self.token, logDirectory: dir.file("logs"))
            let session = WebsiteAuth(configuration: configuration, salt: salt).issueSession(now: Date())
            before = try await Self.laneAnswers(port)
            let withCookie = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: ["Cookie": "sc_session=\(session)"])])[0]
            let withToken = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: bearer)])[0]
            #expect(withCookie.status == 200 && withToken.status == 200 && withCookie.body == withToken.body)
            #expect(try await Self.laneAnswers(port) == before + 2)
        }
        try await withWebsite(password: false) { port, _ in
            _ = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles)])
            // Without a password only loopback names are answered, cached or not.
            let rebound = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles, headers: ["Host": "rebound.example:\(port)"])])[0]
            #expect(rebound.status == 421)
        }
    }

    @Test func aStoredCandleEndsTheCachedAnswer() async throws {
        defer { dir.remove() }
        try await withWebsite { port, storage in
            let before = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles), RawHTTP.get(Self.candles)])
            #expect(before[0].body == before[1].body)
            let last = try #require(try await storage.candles(pair: "BTC/USD", intervalMinutes: 60).last)
            let next = Candle(
                pair: "BTC/USD", intervalMinutes: 60, openTime: last.openTime.addingTimeInterval(3600), open: 615, high: 640, low: 610,
                close: Decimal(string: "633.25")!, vwap: 630, volume: 4, tradeCount: 2)
            try await storage.upsertCandles([next])
            // The hub notices the write within its poll; from then on the old answer is never given.
            var answer = ""
            for _ in 0..<100 {
                answer = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles)])[0].text
                if answer.contains("633.25") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(answer.contains("633.25"))
            for _ in 0..<3 { #expect(try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.candles)])[0].text == answer) }
        }
    }

    @Test func theDateHeaderIsTheIMFFixdateOfTheSecond() {
        #expect(UTCTime.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(UTCTime.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")  // RFC 9110's example
        #expect(UTCTime.httpDate(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let second = Int64.random(in: 0...4_102_444_800, using: &generator)  // 1970 to 2100
            #expect(UTCTime.httpDate(second) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(second))), "\(second)")
        }
    }
}

/// The lane's handler alone in an embedded channel: what it answers, what it hands on to the
/// router, and when it must leave a request to the router to keep the answers in order.
@Suite struct CachedAnswerHandlerTests {
    static let candles = "/api/candles?pair=BTC/USD&interval=60"
    static let body = ByteBuffer(string: #"{"candles":[]}"#)

    func channel() async throws -> EmbeddedChannel {
        let cache = ResponseCache(followed: { 5 })
        _ = try await cache.json(cache.candles(query: "pair=BTC/USD&interval=60")) { (.ok, Self.body) }
        let configuration = WebsiteConfiguration(
            service: ServiceConfiguration(service: .website, database: .sqlite(path: "/nonexistent/db.sqlite")), password: nil, apiToken: nil,
            logDirectory: "/nonexistent")
        let lane = CachedAnswerLane(
            cache: cache, auth: WebsiteAuth(configuration: configuration, salt: Data(count: 32)), clock: SystemTime(),
            instruments: RouteInstruments(factory: NOOPMetricsHandler.instance), serverName: "SignalCartel", logger: Logger(label: "lane"))
        return EmbeddedChannel(handler: CachedAnswerHandler(lane: lane))
    }

    static func request(_ path: String, method: HTTPRequest.Method = .get, fields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: method, scheme: nil, authority: "127.0.0.1", path: path, headerFields: fields)
    }

    /// Sends a whole request in: head, optional body, end.
    static func send(_ channel: EmbeddedChannel, _ head: HTTPRequest, body: String? = nil) throws {
        try channel.writeInbound(HTTPRequestPart.head(head))
        if let body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// What reached the router: "head PATH", "body TEXT", "end".
    static func handedOn(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.path ?? "")")
            case .body(let buffer): parts.append("body \(String(buffer: buffer))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// What was written towards the client: "head STATUS", "body TEXT", "end".
    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.status.code)")
            case .body(let buffer): parts.append("body \(String(buffer: buffer))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// The router's answer to one request, written through the handler.
    static func routerAnswers(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: text)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    @Test func answersWaitForTheRoutersEarlierAnswerAndResumeAfterIt() async throws {
        let channel = try await channel()
        let lane = ["head 200", "body " + String(buffer: Self.body), "end"]
        // Idle: the lane answers and the router sees nothing.
        try Self.send(channel, Self.request(Self.candles))
        #expect(try Self.handedOn(channel) == [])
        #expect(try Self.written(channel) == lane)

        // An uncached request and a cached one behind it: both go to the router, in order.
        try Self.send(channel, Self.request("/api/status"))
        try Self.send(channel, Self.request(Self.candles))
        #expect(try Self.handedOn(channel) == ["head /api/status", "end", "head \(Self.candles)", "end"])
        #expect(try Self.written(channel) == [])
        // The router's first answer written, and the head and body of its second: the second
        // is not over until its end, so a request now still goes behind it.
        try Self.routerAnswers(channel, "status")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: "candles")))
        try Self.send(channel, Self.request(Self.candles))
        #expect(try Self.handedOn(channel) == ["head \(Self.candles)", "end"])
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        try Self.routerAnswers(channel, "candles 3")
        #expect(
            try Self.written(channel) == [
                "head 200", "body status", "end", "head 200", "body candles", "end", "head 200", "body candles 3", "end",
            ])
        // Every answer written: the lane answers again.
        try Self.send(channel, Self.request(Self.candles))
        #expect(try Self.handedOn(channel) == [])
        #expect(try Self.written(channel) == lane)
        _ = try channel.finish()
    }

    @Test func requestsTheLaneMayNotAnswerGoToTheRouterWhole() async throws {
        let channel = try await channel()
        let cases: [(HTTPRequest, String?)] = [
            (Self.request(Self.candles, method: .head), nil),
            (Self.request(Self.candles, method: .post, fields: [.contentLength: "2"]), "{}"),
            (Self.request(Self.candles, fields: [.contentLength: "5"]), "hello"),
            (Self.request(Self.candles, fields: [.transferEncoding: "chunked"]), "hi"),
            (Self.request(Self.candles + "&limit=7"), nil),  // not the cached query
            (Self.request("/api/candles/?pair=BTC/USD&interval=60"), nil),
            (HTTPRequest(method: .get, scheme: nil, authority: "rebound.example", path: Self.candles), nil),
        ]
        for (head, body) in cases {
            try Self.send(channel, head, body: body)
            #expect(try Self.handedOn(channel) == ["head \(head.path ?? "")"] + (body.map { ["body \($0)"] } ?? []) + ["end"])
            try Self.routerAnswers(channel, "router")
            #expect(try Self.written(channel) == ["head 200", "body router", "end"])
        }
        _ = try channel.finish()
    }

    @Test func afterARequestAskingToCloseNothingMoreIsAnsweredByTheLane() async throws {
        let channel = try await channel()
        try Self.send(channel, Self.request(Self.candles, fields: [.connection: "keep-alive, close"]))
        #expect(try Self.handedOn(channel) == ["head \(Self.candles)", "end"])
        try Self.routerAnswers(channel, "last")
        try Self.send(channel, Self.request(Self.candles))
        #expect(try Self.handedOn(channel) == ["head \(Self.candles)", "end"])
        #expect(try Self.written(channel) == ["head 200", "body last", "end"])
        _ = try channel.finish()
    }
}

/// HTTP/1.1 over a plain blocking socket: requests written in one `send`, answers read back
/// with every header as sent.
enum RawHTTP {
    struct Answer {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func get(_ target: String, headers: [String: String] = [:]) -> String {
        var request = "GET \(target) HTTP/1.1\r\n"
        if headers["Host"] == nil { request += "Host: 127.0.0.1\r\n" }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
        return request + "\r\n"
    }

    /// Sends `requests` at once and reads one answer for each (and, with `untilClosed`, waits
    /// for the server to close the connection). On a thread of its own: the blocking socket
    /// must not hold one of the concurrency pool's, which the server's router needs.
    static func exchange(port: Int, _ requests: [String], untilClosed: Bool = false) async throws -> [Answer] {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingExchange(port: port, requests, untilClosed: untilClosed) }) }.start()
        }
    }

    static func blockingExchange(port: Int, _ requests: [String], untilClosed: Bool) throws -> [Answer] {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
        let bytes = Array(requests.joined().utf8)
        guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw Failure(description: "send") }

        var received: [UInt8] = []
        var answers: [Answer] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var closed = false
        while answers.count < requests.count || (untilClosed && !closed) {
            while answers.count < requests.count, let (answer, used) = try parse(received) {
                answers.append(answer)
                received.removeFirst(used)
            }
            if answers.count == requests.count && !untilClosed { break }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                closed = true
                if answers.count < requests.count { throw Failure(description: "closed after \(answers.count) answers") }
            } else if count < 0 {
                throw Failure(description: "recv: \(errno) after \(answers.count) answers")
            } else {
                received += buffer[0..<count]
            }
        }
        return answers
    }

    /// One whole answer at the start of `bytes` (with `Content-Length`) and its length.
    static func parse(_ bytes: [UInt8]) throws -> (Answer, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "status line \(lines[0])") }
        let headers = lines.dropFirst().map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        guard let length = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }) else {
            throw Failure(description: "no Content-Length in \(lines)")
        }
        let bodyStart = end + 4
        guard bytes.count >= bodyStart + length else { return nil }
        return (Answer(status: status, headers: headers, body: Array(bytes[bodyStart..<bodyStart + length])), bodyStart + length)
    }
}
