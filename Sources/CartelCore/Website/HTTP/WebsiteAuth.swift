import Crypto
import Foundation
import Hummingbird
import Synchronization

/// Who may use the website, and the proofs it hands out: an HMAC-signed session cookie with an
/// expiry, a CSRF token tied to it, and the API bearer token. Secrets are compared in constant
/// time and never logged.
///
/// The signing key is derived from `DASHBOARD_PASSWORD` and a random salt stored in the
/// database: sessions survive restarts, and changing the password ends every session.
public struct WebsiteAuth: Sendable {
    public static let cookieName = "sc_session"
    public static let csrfField = "_csrf"

    let password: String?
    let apiToken: String?
    let key: SymmetricKey
    public let sessionLifetime: TimeInterval
    public let secureCookie: Bool
    let attempts: LoginAttempts

    /// Whether a password is set (without one the site is read-only and needs no login).
    public var isEnabled: Bool { password != nil }

    public init(configuration: WebsiteConfiguration, salt: Data, attempts: AttemptLimiter = AttemptLimiter()) {
        password = configuration.password
        apiToken = configuration.apiToken
        var material = Data(SHA256.hash(data: Data((configuration.password ?? "").utf8)))
        material.append(salt)
        key = SymmetricKey(data: SHA256.hash(data: material))
        sessionLifetime = TimeInterval(configuration.sessionHours * 3600)
        secureCookie = configuration.behindTLSProxy
        self.attempts = LoginAttempts(attempts)
    }

    // MARK: - Secrets

    /// Constant-time: both sides are hashed to 32 bytes and compared byte by byte in full.
    static func same(_ given: String, _ expected: String) -> Bool {
        let a = Array(SHA256.hash(data: Data(given.utf8))), b = Array(SHA256.hash(data: Data(expected.utf8)))
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    public func checkPassword(_ given: String) -> Bool {
        guard let password else { return false }
        return Self.same(given, password)
    }

    public func checkBearer(_ given: String) -> Bool {
        guard let apiToken else { return false }
        return Self.same(given, apiToken)
    }

    // MARK: - Sessions

    /// A new session cookie value: `v1.<expiry>.<nonce>.<mac>`.
    public func issueSession(now: Date) -> String {
        var nonce = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in nonce.indices { nonce[index] = UInt8.random(in: 0...255, using: &generator) }
        let body = "v1.\(Int64(now.timeIntervalSince1970 + sessionLifetime)).\(Self.base64url(Data(nonce)))"
        return body + "." + sign(body)
    }

    /// The session's CSRF token when the cookie is genuine and unexpired.
    public func verifySession(_ cookie: String, now: Date) -> String? {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expiry = Int64(parts[1]), parts[2].count == 22 else { return nil }
        let body = parts[0...2].joined(separator: ".")
        guard let mac = Self.base64urlDecode(String(parts[3])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(body.utf8), using: key)
        else { return nil }
        guard Double(expiry) > now.timeIntervalSince1970 else { return nil }
        return csrfToken(nonce: String(parts[2]))
    }

    func csrfToken(nonce: String) -> String { sign("csrf." + nonce) }

    func sign(_ text: String) -> String {
        Self.base64url(Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
    }

    public func sessionCookie(_ value: String) -> String {
        "\(Self.cookieName)=\(value); Path=/; Max-Age=\(Int(sessionLifetime)); HttpOnly; SameSite=Strict" + (secureCookie ? "; Secure" : "")
    }

    public var clearedCookie: String {
        "\(Self.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secureCookie ? "; Secure" : "")
    }

    // MARK: - Login attempts

    /// Seconds a client address must wait before it may try a password again.
    public func loginRetryAfter(_ address: String, now: Date) -> TimeInterval? {
        attempts.limiter.withLock { $0.retryAfter(address, now: now) }
    }

    public func recordLogin(_ address: String, succeeded: Bool, now: Date) {
        attempts.limiter.withLock { succeeded ? $0.recordSuccess(address) : $0.recordFailure(address, now: now) }
    }

    // MARK: - Encoding

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64urlDecode(_ text: String) -> Data? {
        guard text.count <= 128, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// The login limiter, shared by every copy of ``WebsiteAuth``.
final class LoginAttempts: Sendable {
    let limiter: Mutex<AttemptLimiter>
    init(_ limiter: AttemptLimiter) { self.limiter = Mutex(limiter) }
}

/// What the access rules say about one request.
enum AccessDecision: Sendable, Equatable {
    /// Go on, as `visitor`; a change made with a session cookie must first pass the `Origin`
    /// check (`originCheck` says whether JSON needs one).
    case proceed(Visitor, originCheck: OriginCheck?)
    /// Refused with this error.
    case refuse(APIError)
    /// A page asked for without a session: go and log in.
    case logIn

    enum OriginCheck: Sendable, Equatable {
        /// A change with a session cookie: `Origin` must name this site (forms may omit it when
        /// `requiredForJSON` is false: they carry the CSRF token).
        case change(requiredForJSON: Bool)
    }

    /// Whether the request may be answered as it is, with nothing left to check.
    var isPlainRead: Bool {
        if case .proceed(_, originCheck: nil) = self { return true }
        return false
    }
}

/// Who a request is from (session cookie or bearer token) and whether that is enough for what
/// it asks. The one place these rules live: the auth middleware applies them to every request
/// the router sees, and the cached-answer lane asks them before it answers a read.
struct AccessRules: Sendable {
    let auth: WebsiteAuth

    /// Paths anybody may fetch.
    static func isPublic(_ path: String) -> Bool {
        path == "/api/health" || path == "/login" || path.hasPrefix("/static/") || path == "/favicon.ico"
    }

    static func isMutation(_ method: HTTPRequest.Method) -> Bool {
        !(method == .get || method == .head || method == .options)
    }

    /// The decision for `head` (whose parsed path is `path`) at `now`.
    func decide(_ head: HTTPRequest, path: String, now: Date) -> AccessDecision {
        let isAPI = path.hasPrefix("/api/") || path == "/metrics"
        guard auth.isEnabled else {
            // Without a password the site trusts whoever reaches the loopback port; a page on
            // another site that rebinds its name to 127.0.0.1 must not read it: only loopback
            // host names are answered.
            let host = AuthMiddleware.hostName(head.authority ?? "")
            guard WebsiteConfiguration.isLoopback(host) else {
                return .refuse(
                    APIError(.misdirectedRequest, "wrong_host", "this dashboard answers only on 127.0.0.1, ::1 or localhost without DASHBOARD_PASSWORD"))
            }
            if Self.isMutation(head.method), path != "/login" {
                return .refuse(
                    APIError(
                        .forbidden, "read_only",
                        "this dashboard is read-only: set DASHBOARD_PASSWORD (and API_TOKEN for scripts) in .env and restart the website to allow changes"))
            }
            return .proceed(.anonymous, originCheck: nil)
        }
        if let header = head.headerFields[.authorization], header.lowercased().hasPrefix("bearer ") {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, auth.checkBearer(String(parts[1])) else {
                return .refuse(APIError(.unauthorized, "unauthorized", "the bearer token is not valid", headers: [.wwwAuthenticate: "Bearer"]))
            }
            return .proceed(.bearer, originCheck: nil)
        }
        if let cookie = Cookies(from: head.headerFields[values: .cookie])[WebsiteAuth.cookieName]?.value,
            let csrf = auth.verifySession(cookie, now: now)
        {
            // Forms carry the session's token (checked by the page); the API has no forms: a
            // change there with a cookie must name this site as its Origin.
            let check = Self.isMutation(head.method) ? AccessDecision.OriginCheck.change(requiredForJSON: isAPI || !Self.isForm(head)) : nil
            return .proceed(.session(csrf: csrf), originCheck: check)
        }
        if Self.isPublic(path) {
            let check = head.method == .post && path == "/login" ? AccessDecision.OriginCheck.change(requiredForJSON: false) : nil
            return .proceed(.anonymous, originCheck: check)
        }
        if isAPI {
            return .refuse(
                APIError(
                    .unauthorized, "unauthorized", "log in at /login or send Authorization: Bearer <API_TOKEN>",
                    headers: [.wwwAuthenticate: "Bearer"]))
        }
        return .logIn
    }

    static func isForm(_ head: HTTPRequest) -> Bool {
        head.headerFields[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
    }
}

/// Applies the access rules to every request (CSRF: `Origin` must match for JSON; forms also
/// carry the session's token, checked by the form handlers).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = WebsiteContext
    let rules: AccessRules
    let clock: any WallClock

    init(auth: WebsiteAuth, clock: any WallClock) {
        rules = AccessRules(auth: auth)
        self.clock = clock
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch rules.decide(request.head, path: request.uri.path, now: clock.wallTime) {
        case .proceed(let visitor, let originCheck):
            var context = context
            context.visitor = visitor
            if case .change(let requiredForJSON) = originCheck { try Self.checkOrigin(request, requiredForJSON: requiredForJSON) }
            return try await next(request, context)
        case .refuse(let error):
            throw error
        case .logIn:
            let target = request.method == .get ? request.uri.description : "/"
            return Response(status: .seeOther, headers: [.location: "/login?next=" + Self.percentEncode(target)])
        }
    }

    /// A browser's change must come from this site: its `Origin` (or `Referer`) names our host.
    static func checkOrigin(_ request: Request, requiredForJSON: Bool) throws {
        let host = request.head.authority ?? ""
        let origin = request.headers[.origin] ?? request.headers[.referer]
        guard let origin else {
            if requiredForJSON {
                throw APIError(.forbidden, "csrf", "a change made with a session cookie needs an Origin header from this site")
            }
            return
        }
        let withoutScheme = origin.split(separator: "://", maxSplits: 1).last.map(String.init) ?? origin
        let originHost = withoutScheme.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard !host.isEmpty, originHost.lowercased() == host.lowercased() else {
            throw APIError(.forbidden, "csrf", "cross-site request refused (Origin \(origin.prefix(80)) is not this site)")
        }
    }

    /// `host` of `host:port`, `[::1]:port` or `host`.
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? "/"
    }
}
