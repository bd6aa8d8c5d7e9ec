import Foundation
import PostgresNIO

/// ``AlertStorage`` on PostgreSQL: the rows of ``SQLiteStorage``'s outbox and claims. Each claim
/// is decided by one statement that PostgreSQL runs atomically (an insert that does nothing on
/// a conflict, a conditional upsert, a delete) or under a row lock, so of several processes
/// claiming at once exactly one wins, at the default READ COMMITTED isolation.
extension PostgresStore: AlertStorage {
    @discardableResult
    public func enqueueAlert(kind: String, payload: String, at time: Date) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES (\(kind), \(payload), \(time), \(time)) RETURNING id
            """, logger: logger)
        return try await Self.single(rows, "alert_outbox.id")
    }

    public func pendingAlerts(limit: Int) async throws -> [OutboxAlert] {
        let rows = try await client.query("""
            SELECT id, kind, payload, attempts, last_error, delivered_to, created_at FROM alert_outbox
            WHERE status = 'pending' ORDER BY kind <> 'reply', id LIMIT \(Self.limit(limit))
            """, logger: logger)
        var alerts: [OutboxAlert] = []
        for try await (id, kind, payload, attempts, lastError, deliveredTo, created)
            in rows.decode((Int64, String, String, Int, String?, String, Date).self) {
            alerts.append(OutboxAlert(
                id: id, kind: kind, payload: payload, status: .pending, attempts: attempts, lastError: lastError,
                deliveredTo: Set(deliveredTo.split(separator: ",").map(String.init)), createdAt: created))
        }
        return alerts
    }

    public func markAlertDone(id: Int64, destination: String, error: String?, at time: Date) async throws {
        try await client.query("""
            UPDATE alert_outbox SET delivered_to = CASE delivered_to WHEN '' THEN \(destination) ELSE delivered_to || ',' || \(destination) END,
                last_error = COALESCE(\(error), last_error), updated_at = \(time)
            WHERE id = \(id)
            """, logger: logger)
    }

    public func markAlert(id: Int64, status: OutboxAlert.Status, error: String?, at time: Date) async throws {
        try await client.query("""
            UPDATE alert_outbox SET status = \(status.rawValue), attempts = attempts + 1, last_error = \(error), updated_at = \(time)
            WHERE id = \(id)
            """, logger: logger)
    }

    public func claimAlertLease(holder: String, until: Date, now: Date) async throws -> Bool {
        let value = String(decoding: try JSONEncoder().encode(["holder": holder, "until": UTCTime.iso8601(until)]), as: UTF8.self)
        return try await transaction { connection in
            // No lease yet: the insert takes it (a concurrent one waits for it and then conflicts).
            let inserted = try await connection.query("""
                INSERT INTO engine_state (key, value, updated_at) VALUES ('alert_sender', \(value), \(now))
                ON CONFLICT (key) DO NOTHING RETURNING 1
                """, logger: logger)
            for try await _ in inserted.decode(Int.self) { return true }
            // A lease exists: read it under its row lock (the newest committed value), so the
            // check and the renewal cannot interleave with another holder's.
            var current: String?
            for try await (text) in try await connection.query(
                "SELECT value FROM engine_state WHERE key = 'alert_sender' FOR UPDATE", logger: logger
            ).decode(String.self) { current = text }
            if let current, let lease = try? JSONDecoder().decode([String: String].self, from: Data(current.utf8)),
                let other = lease["holder"], other != holder, let end = lease["until"].flatMap(UTCTime.parseISO8601), end > now
            {
                return false
            }
            try await connection.query("""
                INSERT INTO engine_state (key, value, updated_at) VALUES ('alert_sender', \(value), \(now))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, logger: logger)
            return true
        }
    }

    public func pruneAlerts(olderThan cutoff: Date) async throws -> Int {
        let rows = try await client.query("""
            WITH deleted AS (
                DELETE FROM alert_outbox
                WHERE (status <> 'pending' AND updated_at < \(cutoff)) OR (status = 'pending' AND created_at < \(cutoff))
                RETURNING 1)
            SELECT COUNT(*)::BIGINT FROM deleted
            """, logger: logger)
        return Int(try await Self.single(rows, "count"))
    }

    public func claimServiceDown(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool {
        let key = "service_down:\(heartbeat.service.rawValue)"
        let claim = String(decoding: try JSONEncoder().encode([
            "pid": String(heartbeat.pid), "startedAt": UTCTime.iso8601(heartbeat.startedAt), "lastBeat": UTCTime.iso8601(heartbeat.lastBeat),
        ]), as: UTF8.self)
        return try await transaction { connection in
            // Exactly one insert of the key succeeds; the others wait for it and do nothing.
            let inserted = try await connection.query("""
                INSERT INTO engine_state (key, value, updated_at) VALUES (\(key), \(claim), \(time))
                ON CONFLICT (key) DO NOTHING RETURNING 1
                """, logger: logger)
            var claimed = false
            for try await _ in inserted.decode(Int.self) { claimed = true }
            guard claimed else { return false }
            try await Self.enqueue(connection, kind: "service", text: text, at: time, logger: logger)
            return true
        }
    }

    public func claimServiceBack(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool {
        try await transaction { connection in
            // Of deletes at once one removes the row; the others find it gone once it commits.
            let deleted = try await connection.query(
                "DELETE FROM engine_state WHERE key = \("service_down:\(heartbeat.service.rawValue)") RETURNING 1", logger: logger)
            var released = false
            for try await _ in deleted.decode(Int.self) { released = true }
            guard released else { return false }
            try await Self.enqueue(connection, kind: "service", text: text, at: time, logger: logger)
            return true
        }
    }

    public func telegramUpdateOffset() async throws -> Int64? {
        let rows = try await client.query("SELECT value FROM engine_state WHERE key = 'telegram_update_offset'", logger: logger)
        for try await (text) in rows.decode(String.self) { return Int64(text) }
        return nil
    }

    public func recordTelegramUpdate(_ updateID: Int64, reply: String?, at time: Date) async throws {
        try await transaction { connection in
            if let reply { try await Self.enqueue(connection, kind: "reply", text: reply, at: time, logger: logger) }
            try await connection.query("""
                INSERT INTO engine_state (key, value, updated_at) VALUES ('telegram_update_offset', \(String(updateID + 1)), \(time))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, logger: logger)
        }
    }

    public func lastSummaryDay() async throws -> String? {
        let rows = try await client.query("SELECT value FROM engine_state WHERE key = 'daily_summary_day'", logger: logger)
        for try await (day) in rows.decode(String.self) { return day }
        return nil
    }

    public func claimDailySummary(day: String, text: String, at time: Date) async throws -> Bool {
        try await transaction { connection in
            // The day moves forward only (compared byte by byte, as SQLite compares text); a
            // concurrent upsert waits for the row and re-checks the condition on what committed.
            let claimed = try await connection.query("""
                INSERT INTO engine_state (key, value, updated_at) VALUES ('daily_summary_day', \(day), \(time))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    WHERE engine_state.value < excluded.value COLLATE "C"
                RETURNING 1
                """, logger: logger)
            var won = false
            for try await _ in claimed.decode(Int.self) { won = true }
            guard won else { return false }
            try await Self.enqueue(connection, kind: "summary", text: text, at: time, logger: logger)
            return true
        }
    }

    /// Writes a `{"text": …}` alert inside `connection`'s transaction.
    static func enqueue(_ connection: PostgresConnection, kind: String, text: String, at time: Date, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES (\(kind), \(ServiceAlerts.payload(text)), \(time), \(time))
            """, logger: logger)
    }

    /// A row limit as SQLite reads it: a negative one means none (PostgreSQL refuses it).
    static func limit(_ limit: Int) -> Int? {
        limit < 0 ? nil : limit
    }
}
