import CoreMetrics
import Foundation
import Logging

/// Kraken's Spot REST API with the manners it expects: public calls spaced by
/// `KRAKEN_PUBLIC_RPS`, private calls paced by the tier's decaying counter and serialised so
/// that nonces arrive in order, retries with capped exponential backoff and jitter for
/// *retry later* failures, and a circuit breaker per endpoint group.
///
/// `AddOrder` is never retried automatically (a timed-out order may have been placed): callers
/// reconcile by `userref` with `OpenOrders`/`QueryOrders`.
public actor KrakenClient<C: TimeSource> {
    public enum Group: String, Sendable, CaseIterable {
        case `public`
        case `private`
    }

    let configuration: KrakenConfiguration
    let transport: any KrakenTransport
    let clock: C
    let logger: Logger
    let metrics: any MetricsFactory
    let random: @Sendable () -> Double
    let signer: KrakenSigner?
    var publicLimiter: SpacingRateLimiter<C.Instant>
    var privateLimiter: DecayingCounterLimiter<C.Instant>
    var breakers: [Group: CircuitBreaker<C.Instant>] = [:]
    var lastNonce: UInt64 = 0
    let nonceStore: (any KrakenNonceStore)?
    var privateBusy = false
    var privateWaiters: [CheckedContinuation<Void, Never>] = []
    /// Told when a breaker opens (`true`) or closes again (`false`): the services alert on it.
    let onBreakerChange: (@Sendable (_ group: String, _ opened: Bool) -> Void)?
    /// Groups whose opening was told: a failed probe re-opens a breaker without news.
    var toldOpen: Set<Group> = []

    public init(
        configuration: KrakenConfiguration, transport: any KrakenTransport = AsyncHTTPKrakenTransport(),
        clock: C, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        nonceStore: (any KrakenNonceStore)? = nil, onBreakerChange: (@Sendable (_ group: String, _ opened: Bool) -> Void)? = nil
    ) throws {
        self.onBreakerChange = onBreakerChange
        self.configuration = configuration
        self.nonceStore = nonceStore
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.random = random
        self.signer = try configuration.apiSecret.map { try KrakenSigner(secretBase64: $0) }
        publicLimiter = SpacingRateLimiter(ratePerSecond: configuration.publicRequestsPerSecond)
        privateLimiter = DecayingCounterLimiter(
            maximum: configuration.tier.maximum, decayPerSecond: configuration.tier.decayPerSecond)
        for group in Group.allCases {
            breakers[group] = CircuitBreaker(
                failureThreshold: configuration.breakerThreshold, coolDown: configuration.breakerCoolDown)
            Gauge(label: "kraken_breaker_state", dimensions: [("group", group.rawValue)], factory: metrics).record(0)
        }
    }

    /// The breaker state of an endpoint group (for health reports).
    public func breakerState(_ group: Group) -> CircuitBreaker<C.Instant>.State {
        breakers[group]?.state ?? .closed
    }

    // MARK: Calls

    /// A public GET with retries.
    func publicCall<T: Decodable & Sendable>(_ endpoint: String, _ query: [(String, String)] = [], as type: T.Type) async throws -> T {
        let url = "\(configuration.baseURL)/0/public/\(endpoint)" + (query.isEmpty ? "" : "?" + Self.formEncode(query))
        return try await withRetries(endpoint: endpoint, group: .public, attempts: configuration.maxAttempts) {
            try await self.exchange(endpoint: endpoint, group: .public, method: "GET", url: url, headers: [], body: nil, as: type)
        }
    }

    /// A signed private POST; serialised with every other private call.
    func privateCall<T: Decodable & Sendable>(
        _ endpoint: String, _ parameters: [(String, String)] = [], cost: Double = 1, retry: Bool = true, as type: T.Type
    ) async throws -> T {
        guard let signer, let apiKey = configuration.apiKey else {
            throw KrakenError(.fixConfiguration, "\(endpoint) needs KRAKEN_API_KEY and KRAKEN_API_SECRET")
        }
        let path = "/0/private/\(endpoint)"
        return try await withRetries(endpoint: endpoint, group: .private, attempts: retry ? configuration.maxAttempts : 1) {
            // Serialised per attempt, not across the backoff between attempts: an order is never
            // held up longer than one request of another call.
            await self.acquirePrivate()
            do {
                let result = try await self.signedAttempt(endpoint, path: path, parameters: parameters, cost: cost, apiKey: apiKey, signer: signer, as: type)
                await self.releasePrivate()
                return result
            } catch {
                await self.releasePrivate()
                throw error
            }
        }
    }

    /// One signed request: pacing by the tier's counter, a fresh nonce, the signature over the exact body.
    func signedAttempt<T: Decodable & Sendable>(
        _ endpoint: String, path: String, parameters: [(String, String)], cost: Double, apiKey: String, signer: KrakenSigner, as type: T.Type
    ) async throws -> T {
        let wait = reservePrivate(cost: cost)
        if wait > .zero { try await clock.sleep(for: wait) }
        let nonce = try await nextNonce()
        let body = Self.formEncode([("nonce", "\(nonce)")] + parameters)
        let headers = [
            ("API-Key", apiKey), ("API-Sign", signer.sign(uriPath: path, nonce: "\(nonce)", body: body)),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ]
        return try await exchange(
            endpoint: endpoint, group: .private, method: "POST", url: configuration.baseURL + path, headers: headers, body: body, as: type)
    }

    func withRetries<T: Sendable>(
        endpoint: String, group: Group, attempts: Int, _ operation: @Sendable () async throws -> T
    ) async throws -> T {
        var backoff = Backoff(base: configuration.retryBase, cap: .seconds(30))
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch let error as KrakenError where error.kind == .retryLater && attempt < attempts
                && breakerState(group) == .closed
            {
                let delay = backoff.next(unit: random())
                logger.warning("kraken call failed, retrying", metadata: [
                    "endpoint": "\(endpoint)", "error": "\(error.message)", "attempt": "\(attempt)",
                    "retry_in": "\(delay)",
                ])
                try await clock.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// One request: breaker admission, public pacing, transport, decoding, bookkeeping.
    func exchange<T: Decodable & Sendable>(
        endpoint: String, group: Group, method: String, url: String, headers: [(String, String)], body: String?,
        as type: T.Type
    ) async throws -> T {
        let (admission, change) = breakers[group]!.admit(now: clock.now)
        if let change { breakerChanged(group, change) }
        if case .rejected(let retryAfter) = admission {
            count(endpoint, "breaker_open")
            throw KrakenError(.retryLater, "\(endpoint): circuit breaker for \(group.rawValue) calls is open; next try in \(retryAfter)")
        }
        if group == .public {
            let wait = publicLimiter.reserve(now: clock.now)
            if wait > .zero { try await clock.sleep(for: wait) }
        }
        let started = clock.now
        do {
            let (status, data) = try await transport.send(
                method: method, url: url, headers: headers, body: body, timeout: configuration.timeout)
            Timer(label: "kraken_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: metrics)
                .recordNanoseconds(started.duration(to: clock.now).nanoseconds)
            if status >= 500 || status == 429 {
                throw KrakenError(.retryLater, "\(endpoint): HTTP \(status) \(KrakenDecoding.snippet(data))")
            }
            if status >= 400 {
                throw KrakenError(.fixConfiguration, "\(endpoint): HTTP \(status) \(KrakenDecoding.snippet(data))")
            }
            let value = try KrakenDecoding.decode(type, from: data, endpoint: endpoint)
            record(group, success: true)
            count(endpoint, "ok")
            return value
        } catch let error as KrakenError {
            // An answer that says "your request is wrong" still proves the exchange is up.
            record(group, success: error.kind != .retryLater)
            count(endpoint, error.kind.rawValue)
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            record(group, success: false)
            count(endpoint, KrakenError.Kind.retryLater.rawValue)
            throw KrakenError(.retryLater, "\(endpoint): \(error)")
        }
    }

    func record(_ group: Group, success: Bool) {
        if let change = breakers[group]!.record(success: success, now: clock.now) { breakerChanged(group, change) }
    }

    func breakerChanged(_ group: Group, _ state: CircuitBreaker<C.Instant>.State) {
        let metadata: Logger.Metadata = ["group": "\(group.rawValue)", "state": "\(state.rawValue)"]
        switch state {
        case .open:
            logger.error("kraken circuit breaker opened: failing fast", metadata: metadata)
            if toldOpen.insert(group).inserted { onBreakerChange?(group.rawValue, true) }
        case .halfOpen:
            logger.notice("kraken circuit breaker half-open: probing", metadata: metadata)
        case .closed:
            logger.notice("kraken circuit breaker closed: calls resume", metadata: metadata)
            if toldOpen.remove(group) != nil { onBreakerChange?(group.rawValue, false) }
        }
        let value: Double = switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
        Gauge(label: "kraken_breaker_state", dimensions: [("group", group.rawValue)], factory: metrics).record(value)
    }

    func count(_ endpoint: String, _ outcome: String) {
        Counter(label: "kraken_requests_total", dimensions: [("endpoint", endpoint), ("outcome", outcome)], factory: metrics)
            .increment()
    }

    // MARK: Private-call serialisation and nonces

    func acquirePrivate() async {
        if !privateBusy {
            privateBusy = true
            return
        }
        await withCheckedContinuation { privateWaiters.append($0) }
    }

    func releasePrivate() {
        if privateWaiters.isEmpty {
            privateBusy = false
        } else {
            privateWaiters.removeFirst().resume()
        }
    }

    func reservePrivate(cost: Double) -> Duration {
        privateLimiter.reserve(cost: cost, now: clock.now)
    }

    /// Microseconds since 1970, bumped past the previous nonce. With a ``KrakenNonceStore`` it
    /// comes from that shared counter (one atomic reservation per request), so nonces keep
    /// increasing across restarts and processes even if the wall clock steps back.
    func nextNonce() async throws -> UInt64 {
        let micros = UInt64(max(clock.wallTime.timeIntervalSince1970, 0) * 1_000_000)
        let floor = max(lastNonce + 1, micros)
        lastNonce = try await nonceStore?.reserveNonce(atLeast: floor) ?? floor
        return lastNonce
    }

    static func formEncode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
    }
}

extension Duration {
    /// Whole nanoseconds, for swift-metrics timers.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
