import Foundation

/// How to reach Kraken: base URL, limits, timeouts and (optional) API credentials.
///
/// The credentials are never part of `description`, logs or errors.
public struct KrakenConfiguration: Sendable, CustomStringConvertible {
    public var baseURL: String
    public var publicRequestsPerSecond: Double
    public var tier: DecayingCounterLimiter<ContinuousClock.Instant>.Tier
    public var timeout: Duration
    public var maxAttempts: Int
    public var breakerThreshold: Int
    public var breakerCoolDown: Duration
    /// First retry delay of a failed call (doubling, with jitter, up to 30 s).
    public var retryBase: Duration
    public var apiKey: String?
    public var apiSecret: String?

    public init(
        baseURL: String = "https://api.kraken.com", publicRequestsPerSecond: Double = 1,
        tier: DecayingCounterLimiter<ContinuousClock.Instant>.Tier = .starter, timeout: Duration = .seconds(10),
        maxAttempts: Int = 3, breakerThreshold: Int = 5, breakerCoolDown: Duration = .seconds(30),
        retryBase: Duration = .milliseconds(500), apiKey: String? = nil, apiSecret: String? = nil
    ) {
        self.baseURL = baseURL
        self.publicRequestsPerSecond = publicRequestsPerSecond
        self.tier = tier
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.breakerThreshold = breakerThreshold
        self.breakerCoolDown = breakerCoolDown
        self.retryBase = retryBase
        self.apiKey = apiKey
        self.apiSecret = apiSecret
    }

    /// Reads `KRAKEN_API_URL`, `KRAKEN_PUBLIC_RPS`, `KRAKEN_TIER`, `KRAKEN_TIMEOUT_SECONDS`,
    /// `KRAKEN_MAX_ATTEMPTS`, `KRAKEN_BREAKER_THRESHOLD`, `KRAKEN_BREAKER_COOLDOWN_SECONDS`,
    /// `KRAKEN_API_KEY`, `KRAKEN_API_SECRET`.
    public init(settings: Settings) throws {
        let url = settings.string("KRAKEN_API_URL", default: "https://api.kraken.com")
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ConfigurationError(key: "KRAKEN_API_URL", value: url, expected: "an http(s) URL such as https://api.kraken.com")
        }
        let rpsText = settings.string("KRAKEN_PUBLIC_RPS", default: "1")
        guard let rps = Double(rpsText), rps > 0, rps <= 20 else {
            throw ConfigurationError(key: "KRAKEN_PUBLIC_RPS", value: rpsText, expected: "a number of requests per second above 0 and at most 20")
        }
        let key = settings.raw("KRAKEN_API_KEY", isSecret: true)
        let secret = settings.raw("KRAKEN_API_SECRET", isSecret: true)
        if (key == nil) != (secret == nil) {
            throw ConfigurationError(
                key: key == nil ? "KRAKEN_API_KEY" : "KRAKEN_API_SECRET", value: "",
                expected: "KRAKEN_API_KEY and KRAKEN_API_SECRET set together (or neither)")
        }
        if let secret, Data(base64Encoded: secret) == nil {
            throw ConfigurationError(key: "KRAKEN_API_SECRET", value: "(hidden)", expected: "the base64 private key Kraken issued")
        }
        self.init(
            baseURL: url.hasSuffix("/") ? String(url.dropLast()) : url,
            publicRequestsPerSecond: rps,
            tier: try settings.oneOf("KRAKEN_TIER", default: .starter),
            timeout: .seconds(try settings.int("KRAKEN_TIMEOUT_SECONDS", default: 10, in: 1...120)),
            maxAttempts: try settings.int("KRAKEN_MAX_ATTEMPTS", default: 3, in: 1...10),
            breakerThreshold: try settings.int("KRAKEN_BREAKER_THRESHOLD", default: 5, in: 1...1000),
            breakerCoolDown: .seconds(try settings.int("KRAKEN_BREAKER_COOLDOWN_SECONDS", default: 30, in: 1...3600)),
            apiKey: key, apiSecret: secret)
    }

    public var hasCredentials: Bool { apiKey != nil && apiSecret != nil }

    public var description: String {
        "KrakenConfiguration(baseURL: \(baseURL), publicRPS: \(publicRequestsPerSecond), tier: \(tier.rawValue), credentials: \(hasCredentials ? "set" : "none"))"
    }
}
