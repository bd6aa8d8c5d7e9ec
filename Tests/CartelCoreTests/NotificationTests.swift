import CartelCore
import Foundation
import TestSupport
import Testing

/// The delivery rules of alerts: escaping and splitting for Telegram, what each real Bot API
/// answer means, and when the sender may try again (pure, over instants).
@Suite struct NotificationTests {
    @Test func userTextIsEscapedForHTMLParseMode() {
        #expect(AlertText.escape(#"<b>R&D "x"</b>"#) == "&lt;b&gt;R&amp;D &quot;x&quot;&lt;/b&gt;")
        #expect(AlertText.escape("BTC/USD 0.5 @ 60000") == "BTC/USD 0.5 @ 60000")
    }

    @Test func longTextIsSplitAtLinesAndNeverInsideAnEntity() {
        let lines = (0..<600).map { "line \($0): " + String(repeating: "x", count: 20) }
        let text = lines.joined(separator: "\n")
        let parts = AlertText.split(text)
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.count <= AlertText.maxCharacters && !$0.isEmpty })
        #expect(parts.joined(separator: "\n") == text)  // cut only at line breaks, nothing lost
        let escaped = String(repeating: AlertText.escape("a<b&c>"), count: 1000)  // one line, entities everywhere
        let pieces = AlertText.split(escaped)
        #expect(pieces.joined() == escaped)
        for piece in pieces {
            #expect(piece.count <= AlertText.maxCharacters)
            if let amp = piece.lastIndex(of: "&") { #expect(piece[amp...].contains(";"), "an entity was cut") }
        }
        #expect(AlertText.split("short") == ["short"])
        #expect(AlertText.split("").isEmpty)
    }

    @Test func everyRecordedBotAPIAnswerHasItsOutcome() throws {
        for name in Fixtures.names(in: "telegram", prefix: "telegram_sendMessage_ok") {
            #expect(TelegramAnswer.outcome(httpStatus: 200, body: try Fixtures.data("telegram/\(name)")) == .delivered, "\(name)")
        }
        let cases: [(String, Int, DeliveryOutcome)] = [
            ("telegram_error_429_retry_after.json", 429, .retryAfter(.seconds(5))),
            ("telegram_error_403_bot_blocked.json", 403, .permanent("403 Forbidden: bot was blocked by the user")),
            ("telegram_error_401_unauthorized.json", 401, .permanent("401 Unauthorized")),
        ]
        for (name, status, expected) in cases {
            #expect(TelegramAnswer.outcome(httpStatus: status, body: try Fixtures.data("telegram/\(name)")) == expected, "\(name)")
        }
        for name in Fixtures.names(in: "telegram", prefix: "telegram_error_400") {
            guard case .permanent(let reason) = TelegramAnswer.outcome(httpStatus: 400, body: try Fixtures.data("telegram/\(name)")) else {
                Issue.record("\(name) is not permanent")
                continue
            }
            #expect(reason.hasPrefix("400 Bad Request"), "\(name): \(reason)")
        }
        #expect(TelegramAnswer.outcome(httpStatus: 502, body: Data("<html>502 Bad Gateway</html>".utf8)) == .transient("HTTP 502 without a Bot API answer"))
        #expect(TelegramAnswer.outcome(httpStatus: 200, body: Data("<html>captive portal</html>".utf8)) == .transient("HTTP 200 without a Bot API answer"))
    }

    @Test func theScheduleSpacesMessagesHonoursRetryAfterAndBacksOffBehindABreaker() {
        typealias Schedule = DeliverySchedule<ContinuousClock.Instant>
        var schedule = Schedule(breaker: CircuitBreaker(failureThreshold: 3, coolDown: .seconds(60)))
        var now = ContinuousClock.now
        #expect(schedule.wait(now: now) == .zero)
        #expect(schedule.record(.delivered, now: now, jitter: 0.5) == .next)
        #expect(schedule.wait(now: now) == .seconds(1))  // one message per second
        now = now.advanced(by: .seconds(1))
        #expect(schedule.wait(now: now) == .zero)
        #expect(schedule.record(.retryAfter(.seconds(5)), now: now, jitter: 0.5) == .retry(after: .seconds(5)))
        #expect(schedule.wait(now: now.advanced(by: .seconds(4))) == .seconds(1))
        now = now.advanced(by: .seconds(5))
        // Three transient failures open the breaker: the next try waits for its cool-down.
        for _ in 0..<3 {
            guard case .retry = schedule.record(.transient("timeout"), now: now, jitter: 1) else {
                Issue.record("a transient failure must be retried")
                return
            }
        }
        #expect(schedule.breaker.state == .open)
        #expect(schedule.wait(now: now) >= .seconds(60))
        now = now.advanced(by: .seconds(61))
        #expect(schedule.wait(now: now) == .zero)  // the probe
        #expect(schedule.record(.permanent("403 Forbidden: bot was blocked by the user"), now: now, jitter: 0) == .giveUp("403 Forbidden: bot was blocked by the user"))
        #expect(schedule.breaker.state == .closed)
        #expect(schedule.wait(now: now) == .seconds(1))
    }
}
