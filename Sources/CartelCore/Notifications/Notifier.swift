import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One message for a notifier: its outbox kind and its text in Telegram's HTML parse mode.
public struct AlertMessage: Sendable, Equatable {
    public var kind: String
    public var html: String
    public var createdAt: Date

    public init(kind: String, html: String, createdAt: Date) {
        self.kind = kind
        self.html = html
        self.createdAt = createdAt
    }
}

/// Delivers one message somewhere a trader reads it.
public protocol Notifier: Sendable {
    /// A short stable name (`telegram`, `webhook`) recorded with each alert it is done with.
    var name: String { get }
    /// Where it delivers, fit for logs (never a secret).
    var destination: String { get }
    /// Checks the settings with the service once at start: nil when fine, else what is wrong
    /// (a bad token), for the log. Never throws and never stops the service.
    func check() async -> String?
    func send(_ message: AlertMessage) async -> DeliveryOutcome
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

    public var name: String { "telegram" }
    public var destination: String { "\(apiURL)/bot…/sendMessage chat \(chatID)" }

    /// `getMe`: a refused token (401) or a URL that is not the Bot API is reported at start.
    public func check() async -> String? {
        do {
            let (status, body) = try await TelegramBotAPI.call(apiURL: apiURL, token: token, method: "getMe", parameters: [:], timeout: timeout)
            switch TelegramAnswer.outcome(httpStatus: status, body: body) {
            case .delivered: return nil
            case .permanent(let reason) where status == 401 || reason.hasPrefix("401"):
                return "Telegram refuses TELEGRAM_BOT_TOKEN (\(reason)); alerts cannot be delivered until it is corrected"
            case .permanent(let reason), .transient(let reason):
                return "Telegram's getMe failed: \(reason)"
            case .retryAfter:
                return nil
            }
        } catch {
            return "Telegram cannot be reached to check the bot token: \(type(of: error)) \(String(describing: error).prefix(120))"
        }
    }

    public func send(_ message: AlertMessage) async -> DeliveryOutcome {
        let parameters: [String: any Sendable] = [
            "chat_id": chatID, "text": message.html, "parse_mode": "HTML", "disable_web_page_preview": true,
        ]
        do {
            let (status, body) = try await TelegramBotAPI.call(apiURL: apiURL, token: token, method: "sendMessage", parameters: parameters, timeout: timeout)
            return TelegramAnswer.outcome(httpStatus: status, body: body)
        } catch let error as TelegramBotAPI.EncodingFailure {
            return .permanent(error.description)
        } catch {
            // AsyncHTTPClient's errors never carry the URL; say what kind of fault it was.
            return .transient("network: \(type(of: error)) \(String(describing: error).prefix(120))")
        }
    }
}

/// One Bot API call (`POST {api}/bot{token}/{method}` with a JSON body). The URL holds the
/// token: it never leaves this function, not even in errors.
enum TelegramBotAPI {
    struct EncodingFailure: Error, CustomStringConvertible {
        var description: String { "the request cannot be encoded as JSON" }
    }

    static func call(
        apiURL: String, token: String, method: String, parameters: [String: any Sendable], timeout: TimeAmount
    ) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: "\(apiURL)/bot\(token)/\(method)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        guard let data = try? JSONSerialization.data(withJSONObject: parameters) else { throw EncodingFailure() }
        request.body = .bytes(ByteBuffer(bytes: data))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return (Int(response.status.code), Data(buffer: answer))
    }
}

/// An HTTP endpoint of the trader's choice (`ALERT_WEBHOOK_URL`): a JSON `POST` of
/// `{"kind","text","html","createdAt"}`, or the plain text alone for ntfy-style endpoints
/// (`ALERT_WEBHOOK_FORMAT=text`). 2xx is delivered; 429 waits its `Retry-After`; 408 and 5xx are
/// retried; any other 4xx is given up. The URL may hold a secret: only its scheme, host and port
/// are ever logged.
public struct WebhookNotifier: Notifier {
    let url: String
    let format: AlertConfiguration.WebhookFormat
    let timeout: TimeAmount

    public init(url: String, format: AlertConfiguration.WebhookFormat, timeout: TimeAmount = .seconds(10)) {
        self.url = url
        self.format = format
        self.timeout = timeout
    }

    public var name: String { "webhook" }
    public var destination: String { Self.safeDestination(url) }

    /// `scheme://host[:port]/…` of a URL, nothing that could be a secret.
    public static func safeDestination(_ url: String) -> String {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "webhook" }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }

    public func check() async -> String? { nil }

    public func send(_ message: AlertMessage) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let plain = AlertText.plain(message.html)
        switch format {
        case .text:
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            request.body = .bytes(ByteBuffer(string: plain))
        case .json:
            request.headers.add(name: "Content-Type", value: "application/json")
            let body: [String: String] = [
                "kind": message.kind, "text": plain, "html": message.html, "createdAt": UTCTime.iso8601(message.createdAt),
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else {
                return .permanent("the message cannot be encoded as JSON")
            }
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            // Only the status and the answer's length: some servers echo the request's path,
            // which may be the secret part of the URL.
            let excerpt = "(\(answer.readableBytes) bytes of answer)"
            switch status {
            case 200..<300: return .delivered
            case 429:
                let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) ?? 1
                return .retryAfter(.seconds(min(max(seconds, 1), 3600)))
            case 408, 500..<600: return .transient("HTTP \(status) \(excerpt)")
            default: return .permanent("HTTP \(status) \(excerpt)")
            }
        } catch {
            return .transient("network: \(type(of: error)) \(String(describing: error).prefix(120))")
        }
    }
}
