import Foundation
import GRDB

extension SQLiteStorage: AlertStorage {
    @discardableResult
    public func enqueueAlert(kind: String, payload: String, at time: Date) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES (?, ?, ?, ?)",
                arguments: [kind, payload, UTCTime.sqlite(time), UTCTime.sqlite(time)])
            return db.lastInsertedRowID
        }
    }

    public func pendingAlerts(limit: Int) async throws -> [OutboxAlert] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_outbox WHERE status = 'pending' ORDER BY kind != 'reply', id LIMIT ?", arguments: [limit]).map { row in
                OutboxAlert(
                    id: row["id"], kind: row["kind"], payload: row["payload"], status: .pending, attempts: row["attempts"],
                    lastError: row["last_error"],
                    deliveredTo: Set((row["delivered_to"] as String).split(separator: ",").map(String.init)), createdAt: row["created_at"])
            }
        }
    }

    public func markAlertDone(id: Int64, destination: String, error: String?, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE alert_outbox SET delivered_to = CASE delivered_to WHEN '' THEN ? ELSE delivered_to || ',' || ? END,
                        last_error = COALESCE(?, last_error), updated_at = ? WHERE id = ?
                    """,
                arguments: [destination, destination, error, UTCTime.sqlite(time), id])
        }
    }

    public func markAlert(id: Int64, status: OutboxAlert.Status, error: String?, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE alert_outbox SET status = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, error, UTCTime.sqlite(time), id])
        }
    }

    public func claimAlertLease(holder: String, until: Date, now: Date) async throws -> Bool {
        try await pool.write { db in
            if let text = try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = 'alert_sender'"),
                let lease = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)),
                let other = lease["holder"], other != holder, let end = lease["until"].flatMap(UTCTime.parseISO8601), end > now
            {
                return false
            }
            let value = String(decoding: try JSONEncoder().encode(["holder": holder, "until": UTCTime.iso8601(until)]), as: UTF8.self)
            try db.execute(
                sql: """
                    INSERT INTO engine_state (key, value, updated_at) VALUES ('alert_sender', ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [value, UTCTime.sqlite(now)])
            return true
        }
    }

    public func pruneAlerts(olderThan cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM alert_outbox WHERE (status != 'pending' AND updated_at < ?) OR (status = 'pending' AND created_at < ?)",
                arguments: [UTCTime.sqlite(cutoff), UTCTime.sqlite(cutoff)])
            return db.changesCount
        }
    }

    public func claimServiceDown(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool {
        try await pool.write { db in
            let key = "service_down:\(heartbeat.service.rawValue)"
            guard try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = ?", arguments: [key]) == nil else { return false }
            let claim = String(decoding: try JSONEncoder().encode([
                "pid": String(heartbeat.pid), "startedAt": UTCTime.iso8601(heartbeat.startedAt), "lastBeat": UTCTime.iso8601(heartbeat.lastBeat),
            ]), as: UTF8.self)
            try db.execute(sql: "INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, ?)", arguments: [key, claim, UTCTime.sqlite(time)])
            try db.execute(
                sql: "INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('service', ?, ?, ?)",
                arguments: [ServiceAlerts.payload(text), UTCTime.sqlite(time), UTCTime.sqlite(time)])
            return true
        }
    }

    public func claimServiceBack(_ heartbeat: Heartbeat, text: String, at time: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM engine_state WHERE key = ?", arguments: ["service_down:\(heartbeat.service.rawValue)"])
            guard db.changesCount > 0 else { return false }
            try db.execute(
                sql: "INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('service', ?, ?, ?)",
                arguments: [ServiceAlerts.payload(text), UTCTime.sqlite(time), UTCTime.sqlite(time)])
            return true
        }
    }

    public func telegramUpdateOffset() async throws -> Int64? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = 'telegram_update_offset'").flatMap { Int64($0) }
        }
    }

    public func recordTelegramUpdate(_ updateID: Int64, reply: String?, at time: Date) async throws {
        try await pool.write { db in
            if let reply {
                try db.execute(
                    sql: "INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('reply', ?, ?, ?)",
                    arguments: [ServiceAlerts.payload(reply), UTCTime.sqlite(time), UTCTime.sqlite(time)])
            }
            try db.execute(
                sql: """
                    INSERT INTO engine_state (key, value, updated_at) VALUES ('telegram_update_offset', ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [String(updateID + 1), UTCTime.sqlite(time)])
        }
    }

    public func lastSummaryDay() async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = 'daily_summary_day'") }
    }

    public func claimDailySummary(day: String, text: String, at time: Date) async throws -> Bool {
        try await pool.write { db in
            if let last = try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = 'daily_summary_day'"), last >= day { return false }
            try db.execute(
                sql: """
                    INSERT INTO engine_state (key, value, updated_at) VALUES ('daily_summary_day', ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [day, UTCTime.sqlite(time)])
            try db.execute(
                sql: "INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('summary', ?, ?, ?)",
                arguments: [ServiceAlerts.payload(text), UTCTime.sqlite(time), UTCTime.sqlite(time)])
            return true
        }
    }
}
