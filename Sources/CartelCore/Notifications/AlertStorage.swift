import Foundation

/// One row of `alert_outbox`: what happened (`kind`, a JSON `payload`) and how its delivery went.
public struct OutboxAlert: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending, sent, failed
        /// Not sent: `ALERT_EVENTS` does not select its kind.
        case skipped
    }

    public var id: Int64
    public var kind: String
    public var payload: String
    public var status: Status
    public var attempts: Int
    public var lastError: String?
    /// The destinations done with it (delivered or given up), so a restart does not repeat them.
    public var deliveredTo: Set<String>
    public var createdAt: Date

    public init(
        id: Int64, kind: String, payload: String, status: Status, attempts: Int, lastError: String?, deliveredTo: Set<String> = [],
        createdAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
        self.deliveredTo = deliveredTo
        self.createdAt = createdAt
    }
}

/// The alert outbox. Orders, trades and pause changes put their alerts in it from triggers, in
/// the same transaction as the change; services add their own news with ``enqueueAlert``.
public protocol AlertStorage: Sendable {
    /// Adds an alert (`payload` a JSON object); returns its id.
    @discardableResult
    func enqueueAlert(kind: String, payload: String, at time: Date) async throws -> Int64
    /// The oldest pending alerts, in id order (answers to bot commands first: someone waits for them).
    func pendingAlerts(limit: Int) async throws -> [OutboxAlert]
    /// Records that one destination is done with an alert (`destination` joins `deliveredTo`),
    /// with the reason when it refused it (kept in `lastError`).
    func markAlertDone(id: Int64, destination: String, error: String?, at time: Date) async throws
    /// Records how the alert ended.
    func markAlert(id: Int64, status: OutboxAlert.Status, error: String?, at time: Date) async throws
    /// Deletes delivered or failed alerts last changed before `cutoff`, and pending ones written
    /// before it (far too old to be sent: nobody sent them while they were news); returns how many.
    func pruneAlerts(olderThan cutoff: Date) async throws -> Int
    /// Claims the news that `heartbeat`'s service is down and writes `text` to the outbox, in
    /// one transaction; false when another process claimed it already (nothing written).
    func claimServiceDown(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool
    /// Releases a down claim for `heartbeat`'s service and writes `text` (it is back), in one
    /// transaction; false when there was no claim (nothing written).
    func claimServiceBack(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool
    /// The day (`YYYY-MM-DD`) of the last daily summary written, if any.
    func lastSummaryDay() async throws -> String?
    /// Claims the summary of `day` and writes `text` to the outbox in one transaction; false when
    /// it was written already (by this or another service).
    func claimDailySummary(day: String, text: String, at time: Date) async throws -> Bool
    /// The next Telegram update id the bot asks for (`getUpdates` offset), if one is stored.
    func telegramUpdateOffset() async throws -> Int64?
    /// Records that update `updateID` was handled: the offset moves past it and `reply` (if any)
    /// joins the outbox as a `reply`, in one transaction, so a restart neither answers a command
    /// twice nor loses one.
    func recordTelegramUpdate(_ updateID: Int64, reply: String?, at time: Date) async throws
    /// Takes or renews the right to send alerts until `until`, unless another holder has it
    /// past `now`; in one transaction, so of several services exactly one sends.
    func claimAlertLease(holder: String, until: Date, now: Date) async throws -> Bool
}
