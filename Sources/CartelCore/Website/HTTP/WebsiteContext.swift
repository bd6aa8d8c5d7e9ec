import Foundation
import Hummingbird
import NIOCore

/// The request context of the website: the peer's address (login rate limit) and who the
/// request is from once the auth middleware has looked.
public struct WebsiteContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var visitor: Visitor = .anonymous

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Request bodies over 64 KiB are refused (413).
    public var maxUploadSize: Int { WebsiteLimits.maxBodyBytes }
}

public enum WebsiteLimits {
    public static let maxBodyBytes = 64 * 1024
}

/// Who a request comes from.
public enum Visitor: Sendable, Equatable {
    /// No credentials (allowed only where no password is set, and for `/api/health`).
    case anonymous
    /// A browser with a valid session cookie; `csrf` is the token its forms must carry.
    case session(csrf: String)
    /// A script with `Authorization: Bearer $API_TOKEN`.
    case bearer
}

/// An error the API answers as `{"error":{"code":"…","message":"…"}}` (and pages as HTML).
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String, code: String = "bad_request") -> APIError { APIError(.badRequest, code, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
}

/// Reads a query string strictly: unknown or repeated parameters are errors, not ignored.
public struct QueryReader: Sendable {
    let values: [String: String]

    public init(_ request: Request, allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw APIError.badRequest(
                    "unknown query parameter '\(name)'" + (allowed.isEmpty ? "; this endpoint takes none" : "; known: \(known)"),
                    code: "unknown_parameter")
            }
            guard values[name] == nil else { throw APIError.badRequest("query parameter '\(name)' is given twice") }
            values[name] = String(value)
        }
        self.values = values
    }

    /// The value, nil when absent or empty.
    public func string(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text.prefix(40))'")
        }
        return value
    }

    /// An ISO-8601 time (`2026-11-26`, `2026-11-26T10:00:00Z`) or Unix seconds.
    public func date(_ name: String) throws -> Date? {
        guard let text = string(name) else { return nil }
        if let seconds = Int64(text), seconds >= 0, seconds < 253_402_300_800 { return Date(timeIntervalSince1970: Double(seconds)) }
        guard let date = UTCTime.parseISO8601(text) else {
            throw APIError.badRequest("'\(name)' must be an ISO-8601 time (2026-11-26T10:00:00Z) or Unix seconds, not '\(text.prefix(40))'")
        }
        return date
    }

    /// A `BASE/QUOTE` pair, upper-cased.
    public func pair(_ name: String) throws -> String? {
        guard let text = string(name) else { return nil }
        let pair = text.uppercased()
        guard MarketDataConfiguration.isPairName(pair) else { throw APIError.badRequest("'\(name)' must be a BASE/QUOTE pair such as BTC/USD") }
        return pair
    }

    /// One of Kraken's candle intervals, in minutes.
    public func interval(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let minutes = Int(text), MarketDataConfiguration.krakenIntervals.contains(minutes) else {
            let allowed = MarketDataConfiguration.krakenIntervals.map(String.init).joined(separator: ", ")
            throw APIError.badRequest("'\(name)' must be one of Kraken's intervals in minutes (\(allowed))")
        }
        return minutes
    }
}
