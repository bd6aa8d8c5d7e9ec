import Foundation
import Logging
import ServiceLifecycle

/// When the daily summary is due: every day at `hour:minute` in `timeZone` (`DAILY_SUMMARY_AT`,
/// `ALERT_TIMEZONE`). Pure: the caller passes the time and the last day summarised.
public struct SummarySchedule: Sendable, Equatable {
    public var hour: Int
    public var minute: Int
    public var timeZone: TimeZone
    /// The zone's name as configured (Foundation may report `UTC` as `GMT`).
    public var zoneName: String
    /// A summary missed by more than this (every service was down at the time) is not sent late.
    public var lateness: TimeInterval = 6 * 3600

    public init(hour: Int, minute: Int, timeZone: TimeZone, zoneName: String? = nil) {
        self.hour = hour
        self.minute = minute
        self.timeZone = timeZone
        self.zoneName = zoneName ?? timeZone.identifier
    }

    /// The summary due at `now`: its day (the local date of the last moment it covers, `YYYY-MM-DD`) and the
    /// 24 hours it covers, ending at the scheduled instant; nil when `lastDay` already had it or
    /// the latest instant is too long ago.
    public func due(now: Date, lastDay: String?) -> (day: String, from: Date, to: Date)? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = calendar.dateComponents([.year, .month, .day], from: now)
        var components = today
        components.hour = hour
        components.minute = minute
        // The latest scheduled instant at or before now (a DST gap moves it forward, never skips a day).
        guard var instant = calendar.date(from: components) else { return nil }
        if instant > now {
            guard let yesterday = calendar.date(byAdding: .day, value: -1, to: instant) else { return nil }
            instant = yesterday
        }
        guard now.timeIntervalSince(instant) <= lateness else { return nil }
        // Named after the day it covers: at 00:00 that is the day just ended.
        let local = calendar.dateComponents([.year, .month, .day], from: instant.addingTimeInterval(-1))
        let day = String(format: "%04d-%02d-%02d", local.year ?? 0, local.month ?? 0, local.day ?? 0)
        guard day != lastDay, let from = calendar.date(byAdding: .day, value: -1, to: instant) else { return nil }
        return (day, from, instant)
    }
}

/// Writes the daily summary into the outbox once a day: every service with alerts on runs one,
/// and a claim in the database (written with the alert) makes exactly one of them write it.
public struct DailySummaryService<C: TimeSource>: Service {
    let provider: any StorageProvider
    let dashboard: Dashboard
    let schedule: SummarySchedule
    let every: Duration
    let clock: C
    let logger: Logger

    public init(storage: any StorageProvider, dashboard: Dashboard, schedule: SummarySchedule, every: Duration = .seconds(30), clock: C, logger: Logger) {
        self.provider = storage
        self.dashboard = dashboard
        self.schedule = schedule
        self.every = every
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try await repeatUntilShutdown(every: every, clock: clock, logger: logger, failure: "daily summary not written") {
            try await check()
        }
    }

    /// Writes the summary when it is due and nobody has; returns its day when this process did.
    @discardableResult
    public func check() async throws -> String? {
        guard let storage = try await provider.storage() as? any AlertStorage & LedgerStorage else { return nil }
        let now = clock.wallTime
        guard let due = schedule.due(now: now, lastDay: try await storage.lastSummaryDay()) else { return nil }
        let page = try await dashboard.trades(TradeQuery(limit: 100_000, closedFrom: due.from, closedBefore: due.to))
        let closed = page.trades
        let equity = try await dashboard.equity(from: due.from, to: due.to, stepSeconds: nil).points.last?.equity
        let text = BotAnswers.dailySummary(
            day: due.day, timeZone: schedule.zoneName, mode: page.mode, closed: closed, equity: equity,
            positions: try await dashboard.positions(), scale: BotAnswers.scale(pairs: try await storage.strategies().map(\.pair)))
        guard try await storage.claimDailySummary(day: due.day, text: text, at: now) else { return nil }
        logger.info("daily summary written", metadata: ["day": "\(due.day)", "trades": "\(closed.count)"])
        return due.day
    }
}
