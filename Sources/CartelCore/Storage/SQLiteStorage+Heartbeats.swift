import Foundation
import GRDB

extension SQLiteStorage {
    public func recordHeartbeat(_ heartbeat: Heartbeat) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO service_heartbeats
                        (service, pid, host, version, started_at, last_beat, state, detail, interval_seconds, resident_bytes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (service) DO UPDATE SET
                        pid = excluded.pid, host = excluded.host, version = excluded.version,
                        started_at = excluded.started_at, last_beat = excluded.last_beat,
                        state = excluded.state, detail = excluded.detail,
                        interval_seconds = excluded.interval_seconds, resident_bytes = excluded.resident_bytes
                    """,
                arguments: [
                    heartbeat.service.rawValue, Int64(heartbeat.pid), heartbeat.host, heartbeat.version,
                    UTCTime.sqlite(heartbeat.startedAt), UTCTime.sqlite(heartbeat.lastBeat), heartbeat.state.rawValue, heartbeat.detail,
                    heartbeat.intervalSeconds, heartbeat.residentBytes.map { Int64(clamping: $0) },
                ])
        }
    }

    public func heartbeats() async throws -> [Heartbeat] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM service_heartbeats ORDER BY service").compactMap { row in
                // Rows of services this build does not know are skipped, not fatal.
                guard let service = ServiceName(rawValue: row["service"]) else { return nil }
                let stateText: String = row["state"]
                guard let state = HeartbeatState(rawValue: stateText) else {
                    throw StorageError(.corruptValue, "service_heartbeats.state '\(stateText)' is not running/stopped")
                }
                return Heartbeat(
                    service: service, pid: Int32(truncatingIfNeeded: row["pid"] as Int64),
                    host: row["host"], version: row["version"], startedAt: row["started_at"],
                    lastBeat: row["last_beat"], state: state, detail: row["detail"],
                    intervalSeconds: row["interval_seconds"],
                    residentBytes: (row["resident_bytes"] as Int64?).map { UInt64(clamping: $0) })
            }
        }
    }
}
