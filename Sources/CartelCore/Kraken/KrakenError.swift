/// A Kraken failure, typed by what the caller should do next.
public struct KrakenError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Transient: HTTP 5xx, timeouts, connection errors, rate limits, `EService:*`, HTML
        /// error pages, malformed or truncated bodies. Back off and retry.
        case retryLater
        /// The configuration is wrong (bad key, signature, permission, unknown pair): retrying
        /// cannot help; alert the operator.
        case fixConfiguration
        /// The exchange refused an order (`EOrder:*`, invalid arguments).
        case orderRejected
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Classifies the `error` array of a Kraken answer (`<E|W><category>:<message>`); nil when
    /// it holds no error (warnings only, or empty).
    public static func classify(_ messages: [String]) -> KrakenError? {
        let errors = messages.filter { $0.hasPrefix("E") }
        guard let first = errors.first else { return nil }
        let text = errors.joined(separator: "; ")
        switch first {
        case let code where code.hasPrefix("EAPI:Rate limit"), let code where code.hasPrefix("EService:"),
            let code where code.hasPrefix("EGeneral:Temporary lockout"), let code where code.hasPrefix("EAPI:Invalid nonce"):
            return KrakenError(.retryLater, text)
        case let code where code.hasPrefix("EOrder:"), let code where code.hasPrefix("EGeneral:Invalid arguments"):
            return KrakenError(.orderRejected, text)
        case let code where code.hasPrefix("EAPI:Invalid key"), let code where code.hasPrefix("EAPI:Invalid signature"),
            let code where code.hasPrefix("EGeneral:Permission denied"), let code where code.hasPrefix("EQuery:Unknown asset pair"):
            return KrakenError(.fixConfiguration, text)
        default:
            // Unknown error classes are not retried blindly: a human should look.
            return KrakenError(.fixConfiguration, text)
        }
    }
}
