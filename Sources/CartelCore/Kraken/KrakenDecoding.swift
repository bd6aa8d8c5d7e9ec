import Foundation

/// Decodes Kraken REST answers: `{"error": [...], "result": ...}`.
///
/// An answer with errors throws the classified ``KrakenError`` (even when it also carries a
/// `result`); a body that is not the expected JSON (HTML error page, truncated, wrong shape)
/// throws a `retryLater` error naming what was wrong. Nothing here traps.
public enum KrakenDecoding {
    struct ErrorsOnly: Decodable {
        let error: [String]?
    }

    struct Envelope<Result: Decodable>: Decodable {
        let result: Result
    }

    public static func decode<Result: Decodable>(_ type: Result.Type, from body: Data, endpoint: String) throws -> Result {
        let decoder = JSONDecoder()
        let head: ErrorsOnly
        do {
            head = try decoder.decode(ErrorsOnly.self, from: body)
        } catch {
            throw KrakenError(.retryLater, "\(endpoint): answer is not Kraken JSON (\(snippet(body)))")
        }
        if let failure = KrakenError.classify(head.error ?? []) { throw failure }
        do {
            return try decoder.decode(Envelope<Result>.self, from: body).result
        } catch let error as KrakenError {
            throw error
        } catch {
            throw KrakenError(.retryLater, "\(endpoint): unexpected answer shape: \(describe(error))")
        }
    }

    static func snippet(_ body: Data) -> String {
        let text = String(decoding: body.prefix(80), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
        return body.isEmpty ? "empty body" : "starts with \"\(text)\""
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

/// A coding key for objects whose keys are data (pair names).
struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// An exact decimal sent by Kraken as a JSON string ("30300.10000").
public struct KrakenDecimal: Decodable, Sendable, Equatable {
    public let value: Decimal

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = DecimalText.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a decimal number")
        }
        self.value = value
    }
}
