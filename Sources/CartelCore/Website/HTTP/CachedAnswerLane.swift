import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers a read whose answer is already in the response cache from inside the connection's
/// pipeline, on its event loop, without handing the request to the router.
///
/// Going through the router costs each request two hops between the event loop and the
/// concurrency pool, a task and the middleware chain: most of the cost of a cached
/// `/api/candles` or `/api/health` (benchmarks/website-load.sh: health at 0.48–0.62 of nginx
/// through the router, 0.68–0.82 through the lane). The lane gives the same answer (status,
/// body, headers, metrics), and only when it can: a
/// request it cannot answer, or may not, goes the ordinary way, where the routes and
/// middleware give the authoritative answer (and fill the cache for the next one).
///
/// It answers only when all of these hold:
/// - a `GET` without a body that does not ask to close the connection;
/// - its path and query have a cache slot (`ResponseCache.slot`) holding a good answer;
/// - the access rules (`AccessRules`, the same the auth middleware applies) let it read as it is;
/// - no earlier request of this connection is still with the router (answers keep their order),
///   and none asked to close it;
/// - the connection is writable (a client that does not read is left to the router's backpressure).
///
/// Hummingbird's connection-state handler, after the lane in the pipeline, never sees the
/// requests the lane answers: harmless while the website sets no idle timeout (a connection the
/// lane keeps busy would look idle to it).
struct CachedAnswerLane: Sendable {
    let cache: ResponseCache
    let rules: AccessRules
    let clock: any WallClock
    let instruments: RouteInstruments
    let answered: Counter
    let serverName: String
    let dates = HTTPDateCache()
    let logger: Logger

    init(cache: ResponseCache, auth: WebsiteAuth, clock: any WallClock, instruments: RouteInstruments, serverName: String, logger: Logger) {
        self.cache = cache
        rules = AccessRules(auth: auth)
        self.clock = clock
        self.instruments = instruments
        answered = Counter(label: "website_http_cached_lane_answers_total", factory: instruments.factory)
        self.serverName = serverName
        self.logger = logger
    }

    /// A ready answer and what it is counted as.
    struct Answer {
        var head: HTTPResponse
        var body: ByteBuffer
        var route: String
        var start: ContinuousClock.Instant
    }

    /// The answer to `head` from the cache, or nil when the request must go to the router.
    func answer(_ head: HTTPRequest) -> Answer? {
        let start = ContinuousClock.now
        guard head.method == .get, let target = head.path else { return nil }
        let fields = head.headerFields
        if let length = fields[.contentLength], length != "0" { return nil }
        if fields[.transferEncoding] != nil { return nil }
        if Self.asksToClose(head) { return nil }
        let uri = URI(target)
        let path = uri.path
        guard let slot = cache.slot(path: path, query: uri.query), let entry = cache.entry(slot, now: start),
            rules.decide(head, path: path, now: clock.wallTime).isPlainRead
        else { return nil }
        var headers = ResponseCache.jsonFields
        headers[.contentLength] = String(entry.body.readableBytes)
        headers.append(contentsOf: SecurityHeadersMiddleware.fields)
        headers[.date] = dates.now()
        headers[.server] = serverName
        if logger.logLevel <= .debug {
            logger.debug("Request", metadata: ["hb.request.path": .stringConvertible(uri), "hb.request.method": "GET", "lane": "cache"])
        }
        return Answer(head: HTTPResponse(status: entry.status, headerFields: headers), body: entry.body, route: slot.route, start: start)
    }

    static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[.connection].map { $0.lowercased().contains("close") } ?? false
    }

    /// Counts an answer given, as the metrics middleware counts the router's.
    func record(_ answer: Answer) {
        instruments.record(route: answer.route, method: "GET", status: Int(answer.head.status.code), start: answer.start)
        answered.increment()
    }
}

/// The lane in a connection's pipeline, between the HTTP codec and Hummingbird's handlers.
final class CachedAnswerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let lane: CachedAnswerLane
    /// Requests handed to the router whose answer's end has not been written yet.
    private var withRouter = 0
    /// A request handed to the router asked to close the connection: nothing more is answered here.
    private var closing = false
    /// The answer to the request being read, when the lane gives it (sent at the request's end).
    private var pending: CachedAnswerLane.Answer?

    init(lane: CachedAnswerLane) {
        self.lane = lane
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if withRouter == 0, !closing, context.channel.isWritable, let answer = lane.answer(head) {
                pending = answer
                return
            }
            withRouter += 1
            if CachedAnswerLane.asksToClose(head) { closing = true }
            context.fireChannelRead(data)
        case .body:
            // The lane answers only requests without a body: a body belongs to a router request.
            if pending == nil { context.fireChannelRead(data) }
        case .end:
            guard let answer = pending else {
                context.fireChannelRead(data)
                return
            }
            pending = nil
            context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
            context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            lane.record(answer)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Not below zero: on a request it cannot parse, Hummingbird answers 400 for a request
        // that never reached us, and closes the connection.
        if case .end = unwrapOutboundIn(data) { withRouter = max(0, withRouter - 1) }
        context.write(data, promise: promise)
    }
}

/// The `Date` header's text, made at most once a second (RFC 9110 IMF-fixdate, always GMT).
final class HTTPDateCache: Sendable {
    private let last = Mutex<(second: Int64, text: String)>((-1, ""))

    func now() -> String {
        let second = Int64(Date().timeIntervalSince1970.rounded(.down))
        return last.withLock { last in
            if last.second != second { last = (second, UTCTime.httpDate(second)) }
            return last.text
        }
    }
}
