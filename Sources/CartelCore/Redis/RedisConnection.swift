import Foundation
import NIOCore
import NIOPosix

/// Why a Redis command or connection failed. The description never holds the password.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached (refused, unresolvable, timed out connecting).
        case unreachable
        /// `AUTH` was refused: a wrong password or user.
        case authentication
        /// The server answered the command with an error reply.
        case server
        /// The server sent something that is not RESP, or not what the command answers.
        case protocolViolation
        /// The connection closed (or was closed) before the reply came.
        case connectionClosed
        /// No reply within the command deadline; the connection is closed.
        case timeout
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// A few words without host, port or user: for health answers anyone may read.
    public var summary: String {
        switch kind {
        case .unreachable: "unreachable"
        case .authentication: message.contains("requires a password") ? "requires a password" : "refused the password"
        case .server: "error reply: \(message.split(separator: " ").first ?? "")"
        case .protocolViolation: "protocol error"
        case .connectionClosed: "connection lost"
        case .timeout: "no reply in time"
        }
    }
}

/// A pub/sub message as the subscriber connection receives it.
public struct RedisMessage: Sendable, Equatable {
    public var channel: String
    public var payload: [UInt8]

    public init(channel: String, payload: [UInt8]) {
        self.channel = channel
        self.payload = payload
    }
}

/// One connection to Redis on SwiftNIO. Commands are written as they come and their replies
/// matched in order (pipelining: many commands may be in flight on the one connection); a
/// reply that takes longer than `commandTimeout` closes the connection, since every later reply
/// would be matched to the wrong command. A subscriber connection (made with `onMessage`) hands
/// each pub/sub `message` to that closure instead.
public final class RedisConnection: Sendable {
    let channel: any Channel
    public let url: RedisURL
    let commandTimeout: TimeAmount

    init(channel: any Channel, url: RedisURL, commandTimeout: TimeAmount) {
        self.channel = channel
        self.url = url
        self.commandTimeout = commandTimeout
    }

    /// Connects, authenticates (`AUTH`) and selects the database (`SELECT`).
    public static func connect(
        to url: RedisURL, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, timeout: Duration = .seconds(5),
        commandTimeout: Duration? = nil, onMessage: (@Sendable (RedisMessage) -> Void)? = nil
    ) async throws -> RedisConnection {
        func amount(_ duration: Duration) -> TimeAmount {
            .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(amount(timeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RESPChannelHandler(onMessage: onMessage))
                }
            }
        let channel: any Channel
        do {
            switch url.endpoint {
            case .tcp(let host, let port):
                channel = try await bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port).get()
            case .unixSocket(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            throw RedisError(.unreachable, "cannot connect to \(url.redacted): \(Self.describe(error))")
        }
        let connection = RedisConnection(channel: channel, url: url, commandTimeout: amount(commandTimeout ?? timeout))
        do {
            if let password = url.password {
                do {
                    _ = try await connection.send(url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
                } catch let error as RedisError where error.kind == .server {
                    // The reply text (WRONGPASS …, or "AUTH … called without any password
                    // configured") never holds the password.
                    throw RedisError(.authentication, "\(url.redacted) refused the password: \(error.message)")
                }
            }
            if url.database != 0 { _ = try await connection.send(["SELECT", String(url.database)]) }
        } catch let error as RedisError where error.kind == .server && error.message.hasPrefix("NOAUTH") {
            await connection.close()
            throw RedisError(.authentication, "\(url.redacted) requires a password: give it in REDIS_URL (redis://:PASSWORD@host:port/db)")
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return "\(error.description)" }
        return "\(error)"
    }

    public var isActive: Bool { channel.isActive }

    /// Sends one command and waits for its reply; an error reply throws ``RedisError/Kind/server``.
    @discardableResult
    public func send(_ command: [String]) async throws -> RESPValue {
        let value = try await write([RESPEncoder.command(command)])[0]
        if case .error(let message) = value { throw RedisError(.server, message) }
        if case .bulkError(let message) = value { throw RedisError(.server, message) }
        return value
    }

    /// Sends every command in one write and returns the replies in order (error replies are
    /// returned as values, not thrown).
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        try await write(commands.map(RESPEncoder.command))
    }

    func write(_ encoded: [[UInt8]]) async throws -> [RESPValue] {
        let loop = channel.eventLoop
        let promises = encoded.map { _ in loop.makePromise(of: RESPValue.self) }
        let requests = zip(encoded, promises).map { RESPRequest(bytes: $0, reply: $1) }
        let channel = self.channel
        let timeout = commandTimeout
        loop.execute {
            for request in requests { Self.write(request, on: channel) }
            channel.flush()
        }
        guard !promises.isEmpty else { return [] }
        // One deadline for the whole batch: when it passes, every reply still missing fails and
        // the connection closes (later replies could no longer be matched to their commands).
        let deadline = loop.scheduleTask(in: timeout) {
            let error = RedisError(.timeout, "no reply from \(self.url.redacted) within \(timeout.nanoseconds / 1_000_000) ms")
            for promise in promises { promise.fail(error) }
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        var replies: [RESPValue] = []
        replies.reserveCapacity(promises.count)
        for promise in promises { replies.append(try await promise.futureResult.get()) }
        return replies
    }

    /// Writes without flushing; a write that fails (the channel closed, its handlers gone)
    /// fails the request's reply, so nothing waits on a reply that cannot come.
    static func write(_ request: RESPRequest, on channel: any Channel) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            request.reply.fail(RedisError(.connectionClosed, "not sent to Redis: \(describe(error))"))
        }
        channel.write(request, promise: written)
    }

    /// Writes one command without waiting: `completion` gets the reply (on the event loop).
    /// Used where a caller must not wait on Redis (publishing after a commit); a server that
    /// stops answering is noticed by the next awaited command's deadline.
    public func send(_ command: [String], completion: @escaping @Sendable (Result<RESPValue, any Error>) -> Void) {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        promise.futureResult.whenComplete(completion)
        let request = RESPRequest(bytes: RESPEncoder.command(command), reply: promise)
        let channel = self.channel
        channel.eventLoop.execute {
            Self.write(request, on: channel)
            channel.flush()
        }
    }

    // MARK: - Commands

    public func ping() async throws {
        _ = try await send(["PING"])
    }

    /// Returns how many subscribers received the message.
    @discardableResult
    public func publish(_ payload: String, to channelName: String) async throws -> Int {
        guard case .integer(let count) = try await send(["PUBLISH", channelName, payload]) else {
            throw RedisError(.protocolViolation, "PUBLISH did not answer with an integer")
        }
        return Int(count)
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        switch try await send(["GET", key]) {
        case .bulkString(let bytes): return bytes
        case .null: return nil
        default: throw RedisError(.protocolViolation, "GET did not answer with a bulk string")
        }
    }

    /// `SET key value EX seconds`.
    public func set(_ key: String, _ value: String, expiresInSeconds seconds: Int) async throws {
        _ = try await send(["SET", key, value, "EX", String(max(seconds, 1))])
    }

    /// Returns how many keys existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int {
        guard case .integer(let count) = try await send(["DEL"] + keys) else {
            throw RedisError(.protocolViolation, "DEL did not answer with an integer")
        }
        return Int(count)
    }

    /// Subscribes to each channel (one command per channel, so each has one confirmation).
    public func subscribe(_ channels: [String]) async throws {
        for reply in try await pipeline(channels.map { ["SUBSCRIBE", $0] }) {
            try Self.confirm(reply, "subscribe")
        }
    }

    public func unsubscribe(_ channels: [String]) async throws {
        for reply in try await pipeline(channels.map { ["UNSUBSCRIBE", $0] }) {
            try Self.confirm(reply, "unsubscribe")
        }
    }

    static func confirm(_ reply: RESPValue, _ kind: String) throws {
        switch reply {
        case .array(let parts?) where parts.first?.text == kind, .push(let parts) where parts.first?.text == kind:
            return
        case .error(let message), .bulkError(let message):
            throw RedisError(.server, message)
        default:
            throw RedisError(.protocolViolation, "\(kind.uppercased()) was not confirmed")
        }
    }

    public func close() async {
        try? await channel.close().get()
    }
}

struct RESPRequest: Sendable {
    var bytes: [UInt8]
    var reply: EventLoopPromise<RESPValue>
}

/// Encodes requests, parses replies with ``RESPParser`` and matches them to requests in order.
/// On a subscriber connection, `message` pushes go to `onMessage`. A protocol error or a closed
/// connection fails every waiting request.
final class RESPChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    var parser = RESPParser()
    var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    let onMessage: (@Sendable (RedisMessage) -> Void)?
    var closed = false
    /// A flush is queued on the event loop: commands written before it runs go out together.
    var flushQueued = false

    init(onMessage: (@Sendable (RedisMessage) -> Void)?) {
        self.onMessage = onMessage
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            request.reply.fail(RedisError(.connectionClosed, "the connection to Redis is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        waiting.append(request.reply)
        var buffer = context.channel.allocator.buffer(capacity: request.bytes.count)
        buffer.writeBytes(request.bytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// Coalesces the flushes of commands written in the same event-loop tick (many publishers
    /// at once) into one write to the socket.
    func flush(context: ChannelHandlerContext) {
        guard !flushQueued else { return }
        flushQueued = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.flushQueued = false
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        parser.feed(buffer.readableBytesView)
        do {
            while let value = try parser.next() { route(value) }
        } catch {
            failAll(RedisError(.protocolViolation, "Redis sent malformed data: \(error)"))
            context.close(promise: nil)
        }
    }

    func route(_ value: RESPValue) {
        if let onMessage, let message = Self.message(value) {
            onMessage(message)
            return
        }
        guard let next = waiting.popFirst() else { return }  // an unsolicited reply: nothing waits for it
        next.succeed(value)
    }

    /// A `message` push: `["message", channel, payload]` (RESP2 array or RESP3 push).
    static func message(_ value: RESPValue) -> RedisMessage? {
        let parts: [RESPValue]
        switch value {
        case .array(let items?): parts = items
        case .push(let items): parts = items
        default: return nil
        }
        guard parts.count == 3, parts[0].text == "message", let channel = parts[1].text,
              case .bulkString(let payload?) = parts[2]
        else { return nil }
        return RedisMessage(channel: channel, payload: payload)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "the connection to Redis closed"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "the connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError(.connectionClosed, "the connection to Redis failed: \(RedisConnection.describe(error))"))
        context.close(promise: nil)
    }

    func failAll(_ error: RedisError) {
        closed = true
        while let next = waiting.popFirst() { next.fail(error) }
    }
}
