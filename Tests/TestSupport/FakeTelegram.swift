import Foundation
import Hummingbird
import Logging

/// A fake Telegram Bot API on a loopback port: `POST /bot<token>/sendMessage` answers with the
/// recorded real responses in `Tests/Fixtures/telegram`, in the order scripted (then success),
/// and records every message it was sent; `getMe` answers for the bot; a token other than
/// `validToken` (when set) gets the recorded 401 on every method. `POST /hook` is a webhook
/// endpoint recording what it receives and answering the scripted HTTP statuses (then 200).
public final class FakeTelegram: Sendable {
    public struct Message: Sendable, Equatable {
        public var token: String
        public var chatID: String
        public var text: String
        public var parseMode: String?
        public var at: Date
    }

    /// A scripted answer: a fixture, its HTTP status, and (for 429) the retry_after to put in it.
    public struct Answer: Sendable {
        public var fixture: String
        public var status: Int
        public var retryAfter: Int?

        public init(fixture: String, status: Int, retryAfter: Int? = nil) {
            self.fixture = fixture
            self.status = status
            self.retryAfter = retryAfter
        }

        public static let ok = Answer(fixture: "telegram_sendMessage_ok.private-chat.constructed.json", status: 200)
        public static func tooManyRequests(retryAfter: Int) -> Answer {
            Answer(fixture: "telegram_error_429_retry_after.json", status: 429, retryAfter: retryAfter)
        }
        public static let cantParseEntities = Answer(fixture: "telegram_error_400_cant_parse_entities.json", status: 400)
    }

    /// One request to `/hook`.
    public struct HookRequest: Sendable, Equatable {
        public var contentType: String
        public var body: String
    }

    /// A message a user sends the bot, returned by `getUpdates`.
    public struct Incoming: Sendable {
        public var updateID: Int64
        public var chatID: Int64
        public var text: String
        public var sentAt: Date
    }

    actor State {
        var incoming: [Incoming] = []
        var offsets: [Int64?] = []
        var nextUpdateID: Int64 = 100_000_001
        func send(chat: Int64, text: String, at: Date) -> Int64 {
            defer { nextUpdateID += 1 }
            incoming.append(Incoming(updateID: nextUpdateID, chatID: chat, text: text, sentAt: at))
            return nextUpdateID
        }
        func pending(from offset: Int64?) -> [Incoming] { incoming.filter { $0.updateID >= (offset ?? 0) } }
        func recordOffset(_ offset: Int64?) { offsets.append(offset) }
        var script: [Answer] = []
        var hookScript: [Int] = []
        var hooks: [HookRequest] = []
        var messages: [Message] = []
        func nextHookStatus() -> Int { hookScript.isEmpty ? 200 : hookScript.removeFirst() }
        func recordHook(_ request: HookRequest) { hooks.append(request) }
        func next() -> Answer { script.isEmpty ? .ok : script.removeFirst() }
        func record(_ message: Message) { messages.append(message) }
    }

    let state = State()
    let validToken: String?

    public init(validToken: String? = nil) {
        self.validToken = validToken
    }

    public func scriptHook(_ statuses: [Int]) async { await state.setHookScript(statuses) }
    /// A user in `chat` sends `text`; returns its update id.
    @discardableResult
    public func userSends(_ text: String, chat: Int64 = 987_654_321, at: Date = Date()) async -> Int64 {
        await state.send(chat: chat, text: text, at: at)
    }
    /// The `offset` of every `getUpdates` call so far.
    public func updateOffsets() async -> [Int64?] { await state.offsets }
    public func hooks() async -> [HookRequest] { await state.hooks }

    public func script(_ answers: [Answer]) async { await state.setScript(answers) }
    public func messages() async -> [Message] { await state.messages }

    public func application(onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        let state = self.state
        let validToken = self.validToken
        @Sendable func answer(_ fixture: String, status: Int, edit: (inout [String: Any]) -> Void = { _ in }) throws -> Response {
            var json = try Fixtures.json("telegram/\(fixture)")
            edit(&json)
            let data = try JSONSerialization.data(withJSONObject: json)
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        @Sendable func refused(_ bot: String) -> Bool { validToken.map { "bot\($0)" != bot } ?? false }
        router.post("/:bot/getMe") { _, context -> Response in
            if refused(try context.parameters.require("bot")) { return try answer("telegram_error_401_unauthorized.json", status: 401) }
            return try answer("telegram_getMe_ok.constructed.json", status: 200)
        }
        // Long polling: answers as soon as an update at or past `offset` exists, or empty after
        // `timeout` seconds; each update shaped like the recorded one.
        router.post("/:bot/getUpdates") { request, context -> Response in
            if refused(try context.parameters.require("bot")) { return try answer("telegram_error_401_unauthorized.json", status: 401) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let fields = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            let offset = (fields["offset"] as? NSNumber)?.int64Value
            await state.recordOffset(offset)
            let deadline = Date().addingTimeInterval(min((fields["timeout"] as? NSNumber)?.doubleValue ?? 0, 5))
            var found = await state.pending(from: offset)
            while found.isEmpty, Date() < deadline {
                try await Task.sleep(for: .milliseconds(20))
                found = await state.pending(from: offset)
            }
            let template = try Fixtures.json("telegram/telegram_getUpdates_ok.constructed.json")
            let sample = ((template["result"] as? [[String: Any]])?.first) ?? [:]
            let updates = found.map { incoming -> [String: Any] in
                var update = sample
                var message = sample["message"] as? [String: Any] ?? [:]
                var chat = message["chat"] as? [String: Any] ?? [:]
                chat["id"] = incoming.chatID
                message["chat"] = chat
                message["text"] = incoming.text
                message["date"] = Int(incoming.sentAt.timeIntervalSince1970)
                message.removeValue(forKey: "entities")
                update["update_id"] = incoming.updateID
                update["message"] = message
                return update
            }
            let data = try JSONSerialization.data(withJSONObject: ["ok": true, "result": updates])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            await state.recordHook(HookRequest(contentType: request.headers[.contentType] ?? "", body: String(buffer: body)))
            return Response(status: .init(code: await state.nextHookStatus()), headers: [.init("Retry-After")!: "1"])
        }
        router.post("/:bot/sendMessage") { request, context -> Response in
            let bot = try context.parameters.require("bot")
            if refused(bot) { return try answer("telegram_error_401_unauthorized.json", status: 401) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let fields = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            await state.record(Message(
                token: String(bot.dropFirst(3)), chatID: "\(fields["chat_id"] ?? "")", text: fields["text"] as? String ?? "",
                parseMode: fields["parse_mode"] as? String, at: Date()))
            let scripted = await state.next()
            return try answer(scripted.fixture, status: scripted.status) { json in
                if let retry = scripted.retryAfter { json["parameters"] = ["retry_after": retry] }
            }
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-telegram"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "fake-telegram", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Runs the fake for the duration of `body`, which gets its base URL.
    public func run<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = application { continuation.yield($0) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw CancellationError()
        }
        defer { task.cancel() }
        return try await body("http://127.0.0.1:\(port)")
    }
}

extension FakeTelegram.State {
    func setScript(_ answers: [FakeTelegram.Answer]) { script = answers }
    func setHookScript(_ statuses: [Int]) { hookScript = statuses }
}
