import Foundation
import Logging
import ServiceLifecycle

/// Delivers the outbox in order to each notifier (Telegram, a webhook): each pending alert as
/// one or more messages (split at 4,096 characters), at most one per `spacing` per destination,
/// waiting out 429s, backing off transient failures behind a breaker, and giving an alert up for
/// a destination that refuses it for good (stored with the reason). Alerts of a kind
/// `ALERT_EVENTS` does not select are recorded as skipped. Nothing is dropped silently; a crash
/// before an alert is recorded sends it again after the restart, only where it had not gone.
///
/// Every service may run one; a lease in the database (renewed every loop, 15 s) lets exactly
/// one of them send at a time, and another takes over when the holder dies.
public struct AlertSender<C: TimeSource>: Service {
    let provider: any StorageProvider
    let holder: String
    let notifiers: [any Notifier]
    let events: Set<AlertCategory>
    let clock: C
    let poll: Duration
    let keep: TimeInterval
    let maxAge: TimeInterval
    let logger: Logger
    let spacing: Duration
    /// The first backoff after a transient failure (doubling up to 5 minutes).
    let retryBase: Duration

    static var lease: TimeInterval { 15 }

    public init(
        storage: any StorageProvider, holder: String, notifiers: [any Notifier], events: Set<AlertCategory> = Set(AlertCategory.allCases),
        clock: C, spacing: Duration = .seconds(1), retryBase: Duration = .seconds(1), poll: Duration = .milliseconds(500), keepDays: Int = 7,
        maxAgeHours: Int = 24, logger: Logger
    ) {
        self.retryBase = retryBase
        self.maxAge = TimeInterval(maxAgeHours * 3600)
        self.provider = storage
        self.holder = holder
        self.notifiers = notifiers
        self.events = events
        self.clock = clock
        self.poll = poll
        self.keep = TimeInterval(keepDays * 86_400)
        self.logger = logger
        self.spacing = spacing
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    // A bad token is said once at start, clearly, while alerts go on (a slow or
                    // unreachable API delays neither them nor a shutdown).
                    group.addTask {
                        for notifier in notifiers {
                            if let problem = await notifier.check(), !Task.isCancelled {
                                logger.error("alerts: \(problem)", metadata: ["to": "\(notifier.destination)"])
                            }
                        }
                    }
                    group.addTask { try await loop() }
                }
            }
        } catch is CancellationError {}  // a graceful shutdown: what is pending is sent by the next sender
    }

    func loop() async throws {
        var schedules = notifiers.map { _ in
            DeliverySchedule<C.Instant>(spacing: spacing, backoff: Backoff(base: retryBase, cap: .seconds(300)))
        }
        var lastPrune = Date.distantPast
        while !Task.isCancelled {
            var pending: [OutboxAlert] = []
            var names: [Int64: String] = [:]
            var store: (any AlertStorage)?
            do {
                guard let storage = try await provider.storage() as? any AlertStorage & LedgerStorage else { return }
                store = storage
                let now = clock.wallTime
                guard try await storage.claimAlertLease(holder: holder, until: now.addingTimeInterval(Self.lease), now: now) else {
                    try await clock.sleep(for: .seconds(2))  // another service sends; take over if it stops renewing
                    continue
                }
                pending = try await storage.pendingAlerts(limit: 20)
                names = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0.name) })
                if clock.wallTime.timeIntervalSince(lastPrune) > 3600 {
                    lastPrune = clock.wallTime
                    _ = try await storage.pruneAlerts(olderThan: clock.wallTime.addingTimeInterval(-keep))
                }
            } catch {
                logger.warning("alert outbox unreadable", metadata: ["error": "\(error)"])
            }
            guard let store, !pending.isEmpty else {
                try await clock.sleep(for: poll)
                continue
            }
            for alert in pending {
                guard try await deliver(alert, names: names, schedules: &schedules, storage: store) else { break }
            }
        }
    }

    /// Sends one alert to every destination not yet done with it, then records how it ended.
    /// Returns false when the lease was lost (another service sends from now on).
    func deliver(
        _ alert: OutboxAlert, names: [Int64: String], schedules: inout [DeliverySchedule<C.Instant>], storage: any AlertStorage
    ) async throws -> Bool {
        if let category = AlertCategory(outboxKind: alert.kind), !events.contains(category) {
            try await mark(alert, .skipped, error: "not selected by ALERT_EVENTS (\(category.rawValue))", storage: storage)
            return true
        }
        // An alert that waited longer than `maxAge` (the sender was off, the chat unreachable for
        // a day) is no longer news: recorded as failed with the reason, and logged, not sent.
        let age = clock.wallTime.timeIntervalSince(alert.createdAt)
        guard age <= maxAge else {
            let reason = "not sent: \(Int(age / 3600)) hours old, older than the \(Int(maxAge / 3600))-hour limit"
            logger.warning("stale alert not sent", metadata: ["alert": "\(alert.id)", "kind": "\(alert.kind)", "reason": "\(reason)"])
            try await mark(alert, .failed, error: reason, storage: storage)
            return true
        }
        let parts = AlertText.split(AlertFormatter.text(alert, strategies: names))
        // `deliveredTo` holds `name` for a destination that received the alert, `name!` for one
        // that refused it for good (written as each finishes when there are several).
        var failures = alert.lastError.map { [$0] } ?? []
        var delivered = alert.deliveredTo.contains { !$0.hasSuffix("!") }
        // An answer to a bot command goes back to the chat that asked, not to a webhook.
        let targets = notifiers.indices.filter { index in
            let name = notifiers[index].name
            return !alert.deliveredTo.contains(name) && !alert.deliveredTo.contains(name + "!") && (alert.kind != "reply" || name == "telegram")
        }
        if targets.isEmpty, !delivered, failures.isEmpty {
            failures.append(alert.kind == "reply" ? "no Telegram destination configured in this service" : "no destination configured")
        }
        for (position, index) in targets.enumerated() {
            let notifier = notifiers[index]
            // With several destinations, one that is down (its breaker open) is passed over for
            // this alert, recorded as refused, so it cannot hold the others up; the last one
            // left keeps trying when none has the alert yet, so it is never lost to an outage.
            let mayPassOn = delivered || position < targets.count - 1
            let failure: String?
            switch try await deliver(parts, of: alert, to: notifier, schedule: &schedules[index], mayPassOn: mayPassOn, storage: storage) {
            case nil: return false
            case .some(let reason): failure = reason.map { notifiers.count > 1 ? "\(notifier.name): \($0)" : $0 }
            }
            if let failure { failures.append(failure) } else { delivered = true }
            if notifiers.count > 1 {
                try await record {
                    try await storage.markAlertDone(id: alert.id, destination: notifier.name + (failure == nil ? "" : "!"), error: failure, at: clock.wallTime)
                }
            }
        }
        // Sent when at least one destination has it; the refusals of others stay in last_error.
        try await mark(alert, delivered ? .sent : .failed, error: failures.isEmpty ? nil : failures.joined(separator: "; "), storage: storage)
        return true
    }

    /// Sends every part of one alert to one notifier: `nil` when the lease was lost, `.some(nil)`
    /// when delivered, `.some(reason)` when given up.
    func deliver(
        _ parts: [String], of alert: OutboxAlert, to notifier: any Notifier, schedule: inout DeliverySchedule<C.Instant>,
        mayPassOn: Bool, storage: any AlertStorage
    ) async throws -> String?? {
        var index = 0
        var last: DeliveryOutcome?
        while index < parts.count {
            let age = clock.wallTime.timeIntervalSince(alert.createdAt)
            if age > maxAge {
                return .some("not delivered within \(Int(maxAge / 3600)) hours (\(last.map { "\($0)" } ?? "no answer"))")
            }
            // Asking when to try also lets a breaker whose cool-down is over probe again.
            let wait = schedule.wait(now: clock.now)
            if mayPassOn, schedule.breaker.state == .open {
                let reason = "unreachable, passed over for the other destinations (\(last.map { "\($0)" } ?? "its breaker is open"))"
                logger.warning("alert passed over for a destination that is down", metadata: ["alert": "\(alert.id)", "to": "\(notifier.destination)"])
                return .some(reason)
            }
            if wait > .zero { try await clock.sleep(for: wait) }
            // Still ours? (A long wait may have let the lease lapse and another service take over.)
            let now = clock.wallTime
            guard try await storage.claimAlertLease(holder: holder, until: now.addingTimeInterval(Self.lease), now: now) else { return nil }
            let outcome = await notifier.send(AlertMessage(kind: alert.kind, html: parts[index], createdAt: alert.createdAt))
            last = outcome
            switch schedule.record(outcome, now: clock.now, jitter: Double.random(in: 0..<1)) {
            case .next:
                index += 1
            case .retry(let after):
                logger.notice("alert delivery postponed", metadata: [
                    "alert": "\(alert.id)", "to": "\(notifier.destination)", "retry_in_s": "\(after.components.seconds)",
                    "outcome": "\(outcome)",
                ])
            case .giveUp(let reason):
                logger.error("alert not deliverable, given up", metadata: ["alert": "\(alert.id)", "to": "\(notifier.destination)", "reason": "\(reason)"])
                return .some(reason)
            }
        }
        return .some(nil)
    }

    func mark(_ alert: OutboxAlert, _ status: OutboxAlert.Status, error: String?, storage: any AlertStorage) async throws {
        try await record { try await storage.markAlert(id: alert.id, status: status, error: error, at: clock.wallTime) }
    }

    /// A write about a delivery is retried until it succeeds: the alert must not be sent again
    /// because its status was lost, nor stay pending forever. It runs in a task of its own, which
    /// a shutdown does not cancel: a message delivered just before SIGTERM is still recorded.
    func record(_ write: @escaping @Sendable () async throws -> Void) async throws {
        while true {
            do {
                try await Task { try await write() }.value
                return
            } catch {
                logger.warning("cannot record an alert's delivery, retrying", metadata: ["error": "\(error)"])
                try await clock.sleep(for: .seconds(1))
            }
        }
    }
}
