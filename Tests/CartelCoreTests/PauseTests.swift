import Foundation
import Testing

@testable import CartelCore
import TestSupport

/// `POST /api/pause` stores the pause in the database; the engine reads it before every entry.
@Suite struct PauseTests {
    typealias T = TradingEngineTests

    @Test func aPausedEngineEntersNothingButStillExitsAndResumes() async throws {
        let dir = try TemporaryDirectory(prefix: "pause")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let engine = try T.engine(storage)
        try await engine.start()
        // Candles 0...6 open a position (the sma-cross enters at candle 6).
        for index in 0...6 { try await engine.onClosedCandle(T.candle(index, close: T.closes[index])) }
        #expect(await engine.currentLedger.positions.count == 1)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)

        // Paused by another process (the website): the exit still runs.
        try await storage.setPause(PauseState(paused: true, by: "website", at: T.start))
        for index in 7...13 { try await engine.onClosedCandle(T.candle(index, close: T.closes[index])) }
        #expect(await engine.currentLedger.positions.isEmpty)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell' AND status = 'filled'") == 1)

        // A fresh cross-up while paused: its signal is stored, no order is placed.
        let rising: [Decimal] = [4, 3, 2, 3, 5, 8, 12]
        for (offset, close) in rising.enumerated() { try await engine.onClosedCandle(T.candle(14 + offset, close: close)) }
        #expect(try T.count(path, "SELECT COUNT(*) FROM signals WHERE action = 'enter'") == 2)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)
        #expect(await engine.currentLedger.positions.isEmpty)
        #expect(try await storage.pauseState().paused)

        // The pause survives a new process; resumed, the next cross-up enters again.
        let reopened = try SQLiteStorage(path: path)
        #expect(try await reopened.pauseState() == PauseState(paused: true, by: "website", at: T.start))
        try await reopened.setPause(PauseState(paused: false, by: "website", at: T.start.addingTimeInterval(60)))
        let again: [Decimal] = [10, 8, 6, 4, 5, 9, 14]
        for (offset, close) in again.enumerated() { try await engine.onClosedCandle(T.candle(21 + offset, close: close)) }
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 2)
        #expect(await engine.currentLedger.positions.count == 1)
        // Each change is one `pause` event, in the same transaction as the state.
        #expect(try T.count(path, "SELECT COUNT(*) FROM events WHERE kind = 'pause'") == 2)
    }

    @Test func anUnreadablePauseValueKeepsEntriesOff() async throws {
        let dir = try TemporaryDirectory(prefix: "pause")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        #expect(try await storage.pauseState().paused == false)
        try await storage.setEngineState(PauseState.key, "{\"paused\":\"maybe\"}", at: T.start)
        #expect(try await storage.pauseState().paused)
    }
}

/// Small security rules of the website, checked directly.
@Suite struct WebsiteRuleTests {
    @Test func onlyLocalPathsAreRedirectedTo() {
        for good in ["/", "/trades?pair=BTC%2FUSD", "/strategies/1"] { #expect(Pages.safeNext(good) == good) }
        for bad in ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example", "evil", "/\n/x", nil] {
            #expect(Pages.safeNext(bad) == "/", "\(String(describing: bad))")
        }
    }

    @Test func loopbackIsParsedNotGuessed() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] { #expect(WebsiteConfiguration.isLoopback(host), "\(host)") }
        for host in ["127.example.com", "0.0.0.0", "10.0.0.1", "127.0.0.256", "127.0.0", ""] { #expect(!WebsiteConfiguration.isLoopback(host), "\(host)") }
        #expect(throws: ConfigurationError.self) { try WebsiteConfiguration(settings: .values(["WEBSITE_HOST": "127.example.com"])) }
    }

    @Test func loginAttemptsAreCountedPerAddressAndForgottenInOrder() {
        var limiter = AttemptLimiter(maxFailures: 2, window: 60, maxKeys: 2)
        let start = Date(timeIntervalSince1970: 1_000)
        limiter.recordFailure("a", now: start)
        #expect(limiter.retryAfter("a", now: start) == nil)
        limiter.recordFailure("a", now: start.addingTimeInterval(1))
        #expect(limiter.retryAfter("a", now: start.addingTimeInterval(2)) == 58)
        #expect(limiter.retryAfter("a", now: start.addingTimeInterval(61)) == nil)
        limiter.recordFailure("b", now: start)
        limiter.recordFailure("c", now: start.addingTimeInterval(5))
        #expect(limiter.trackedKeys <= 2)
        limiter.recordSuccess("c")
        #expect(limiter.retryAfter("c", now: start.addingTimeInterval(6)) == nil)
    }
}
