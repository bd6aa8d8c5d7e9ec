import Foundation

/// Reads a Bot API answer (`{"ok":true,"result":…}` or `{"ok":false,"error_code":N,
/// "description":…,"parameters":{"retry_after":S}}`) into a ``DeliveryOutcome``.
public enum TelegramAnswer {
    struct Body: Decodable {
        struct Parameters: Decodable {
            var retry_after: Int?
        }
        var ok: Bool
        var error_code: Int?
        var description: String?
        var parameters: Parameters?
    }

    public static func outcome(httpStatus: Int, body: Data) -> DeliveryOutcome {
        let answer = try? JSONDecoder().decode(Body.self, from: body)
        if let answer, answer.ok, (200..<300).contains(httpStatus) { return .delivered }
        let code = answer?.error_code ?? httpStatus
        let description = answer?.description.map { String($0.prefix(300)) } ?? "HTTP \(httpStatus) without a Bot API answer"
        switch code {
        case 429:
            let seconds = answer?.parameters?.retry_after ?? 1
            return .retryAfter(.seconds(min(max(seconds, 1), 3600)))
        case 500...599, 200...299:
            // A 2xx that is not a Bot API answer (a proxy's page) is as uncertain as a 5xx.
            return .transient(description)
        case 400...499:
            return .permanent("\(code) \(description)")
        default:
            return .transient(description)
        }
    }
}
