import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Delivers one message somewhere a trader reads it.
public protocol Notifier: Sendable {
    /// Where it delivers, fit for logs (never a secret).
    var destination: String { get }
    func send(_ text: String) async -> DeliveryOutcome
}

/// Telegram's Bot API `sendMessage` in HTML parse mode. The token is part of the URL, so the
/// URL is never logged: ``destination`` names the API and chat only.
public struct TelegramNotifier: Notifier {
    let apiURL: String
    let token: String
    let chatID: String
    let timeout: TimeAmount

    public init(apiURL: String = "https://api.telegram.org", token: String, chatID: String, timeout: TimeAmount = .seconds(10)) {
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.token = token
        self.chatID = chatID
        self.timeout = timeout
    }

    public var destination: String { "\(apiURL)/bot…/sendMessage chat \(chatID)" }

    public func send(_ text: String) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: "\(apiURL)/bot\(token)/sendMessage")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: [String: Any] = ["chat_id": chatID, "text": text, "parse_mode": "HTML", "disable_web_page_preview": true]
        guard let data = try? JSONSerialization.data(withJSONObject: body) else { return .permanent("the message cannot be encoded") }
        request.body = .bytes(ByteBuffer(bytes: data))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 1024 * 1024)
            return TelegramAnswer.outcome(httpStatus: Int(response.status.code), body: Data(buffer: answer))
        } catch {
            // AsyncHTTPClient's errors never carry the URL; say what kind of fault it was.
            return .transient("network: \(type(of: error)) \(String(describing: error).prefix(120))")
        }
    }
}
