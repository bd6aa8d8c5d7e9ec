import Foundation
import Logging
import ServiceLifecycle

/// Delivers the outbox in order through one notifier: each pending alert as one or more
/// messages (split at 4,096 characters), at most one per `spacing`, waiting out 429s, backing
/// off transient failures behind a breaker, and marking an alert `failed` with the reason when
/// the notifier refuses it for good. Nothing is dropped silently; a crash before an alert is
/// marked sends it again after the restart (at least once).
///
/// Every service may run one; a lease in the database (renewed every loop, 15 s) lets exactly
/// one of them send at a time, and another takes over when the holder dies.
public struct AlertSender<C: TimeSource>: Service {
    let provider: any StorageProvider
    let holder: String
    let notifier: any Notifier
    let clock: C
    let poll: Duration
    let keep: TimeInterval
    let maxAge: TimeInterval
    let logger: Logger
    let spacing: Duration

    static var lease: TimeInterval { 15 }

    public init(
        storage: any StorageProvider, holder: String, notifier: any Notifier, clock: C, spacing: Duration = .seconds(1),
        poll: Duration = .milliseconds(500), keepDays: Int = 7, maxAgeHours: Int = 24, logger: Logger
    ) {
        self.maxAge = TimeInterval(maxAgeHours * 3600)
        self.provider = storage
        self.holder = holder
        self.notifier = notifier
        self.clock = clock
        self.poll = poll
        self.keep = TimeInterval(keepDays * 86_400)
        self.logger = logger
        self.spacing = spacing
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await loop()
        }
    }

    func loop() async throws {
        var schedule = DeliverySchedule<C.Instant>(spacing: spacing)
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
                try await deliver(alert, names: names, schedule: &schedule, storage: store)
            }
        }
    }

    /// Sends every part of one alert, then records how it ended.
    func deliver(_ alert: OutboxAlert, names: [Int64: String], schedule: inout DeliverySchedule<C.Instant>, storage: any AlertStorage) async throws {
        // An alert that waited longer than `maxAge` (the sender was off, the chat unreachable for
        // a day) is no longer news: recorded as failed with the reason, and logged, not sent.
        let age = clock.wallTime.timeIntervalSince(alert.createdAt)
        guard age <= maxAge else {
            let reason = "not sent: \(Int(age / 3600)) hours old, older than the \(Int(maxAge / 3600))-hour limit"
            logger.warning("stale alert not sent", metadata: ["alert": "\(alert.id)", "kind": "\(alert.kind)", "reason": "\(reason)"])
            try await mark(alert, .failed, error: reason, storage: storage)
            return
        }
        let parts = AlertText.split(AlertFormatter.text(alert, strategies: names))
        var index = 0
        while index < parts.count {
            let wait = schedule.wait(now: clock.now)
            if wait > .zero { try await clock.sleep(for: wait) }
            // Still ours? (A long wait may have let the lease lapse and another service take over.)
            let now = clock.wallTime
            guard try await storage.claimAlertLease(holder: holder, until: now.addingTimeInterval(Self.lease), now: now) else { return }
            let outcome = await notifier.send(parts[index])
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
                try await mark(alert, .failed, error: reason, storage: storage)
                return
            }
        }
        try await mark(alert, .sent, error: nil, storage: storage)
    }

    func mark(_ alert: OutboxAlert, _ status: OutboxAlert.Status, error: String?, storage: any AlertStorage) async throws {
        // A write that fails is retried until it succeeds: the alert must not be sent again
        // because its status was lost, nor stay pending forever.
        while true {
            do {
                try await storage.markAlert(id: alert.id, status: status, error: error, at: clock.wallTime)
                return
            } catch {
                logger.warning("cannot record an alert's delivery, retrying", metadata: ["alert": "\(alert.id)", "error": "\(error)"])
                try await clock.sleep(for: .seconds(1))
            }
        }
    }
}
