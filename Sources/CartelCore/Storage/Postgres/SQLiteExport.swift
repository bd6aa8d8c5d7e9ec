import Foundation
import GRDB
import PostgresNIO

/// Copies a PostgreSQL database into a new SQLite file (`trading-engine db export`), for a
/// local copy to inspect or to run on: the file is created at the current schema, every table
/// is copied from one PostgreSQL snapshot (a repeatable-read transaction) in SQLite
/// transactions of 10,000 rows, ids kept; then row counts and exact money sums are compared, and a difference
/// deletes the file. SQLite's triggers journal the copied orders and fills again, so the journal
/// and the outbox are emptied and copied last, as PostgreSQL holds them.
public struct SQLiteExport: Sendable {
    let source: PostgresStore
    let targetPath: String
    let logger: Logger

    public init(source: PostgresStore, targetPath: String, logger: Logger) {
        self.source = source
        self.targetPath = targetPath
        self.logger = logger
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [SQLiteImport.TableReport] {
        guard !FileManager.default.fileExists(atPath: targetPath) else {
            throw SQLiteImport.ImportError(message: "\(targetPath) exists already: export into a new file")
        }
        do {
            return try await export(progress: progress)
        } catch {
            for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: targetPath + suffix) }
            throw error
        }
    }

    func export(progress: @Sendable (String) -> Void) async throws -> [SQLiteImport.TableReport] {
        let version = try await source.schemaVersion()
        guard version == PostgresSchema.latestVersion else {
            throw SQLiteImport.ImportError(message: "the PostgreSQL schema is version \(version), this binary's is \(PostgresSchema.latestVersion): run db migrate first")
        }
        _ = try SQLiteStorage(path: targetPath)  // creates the file at the current schema
        let target = try DatabaseQueue(path: targetPath)
        let columns = try await source.columns()
        // The journal and the outbox last: the other tables' triggers write into them.
        let order = SQLiteImport.tables.filter { $0 != "events" && $0 != "alert_outbox" } + ["events", "alert_outbox"]
        return try await source.client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            var reports: [SQLiteImport.TableReport] = []
            for table in order {
                guard let tableColumns = columns[table] else { throw SQLiteImport.ImportError(message: "no table \(table) in PostgreSQL") }
                let started = ContinuousClock.now
                let expected = try await SQLiteImport.report(table: table, columns: tableColumns, connection, logger: logger)
                let selected = tableColumns.map { column in
                    column.type == "timestamp with time zone"
                        ? "to_char(\"\(column.name)\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')" : "\"\(column.name)\"::TEXT"
                }
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT \(selected.joined(separator: ", ")) FROM \(table)"), logger: logger)
                let names = tableColumns.map { "\"\($0.name)\"" }.joined(separator: ", ")
                let marks = Array(repeating: "?", count: tableColumns.count).joined(separator: ", ")
                let insert = "INSERT INTO \(table) (\(names)) VALUES (\(marks))"
                if table == "events" || table == "alert_outbox" {
                    try await target.write { db in
                        try db.execute(sql: "DELETE FROM \(table)")
                        try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = ?", arguments: [table])
                    }
                }
                // Written 10,000 rows at a time as they arrive: memory stays flat whatever the size.
                var batch: [[String?]] = []
                func flush() async throws {
                    let rows = batch
                    batch.removeAll(keepingCapacity: true)
                    try await target.write { db in
                        let statement = try db.makeStatement(sql: insert)
                        for row in rows { try statement.execute(arguments: StatementArguments(row.map { $0?.databaseValue ?? .null })) }
                    }
                }
                for try await row in rows {
                    batch.append(try row.map { try $0.decode(String?.self) })
                    if batch.count == 10_000 { try await flush() }
                }
                if !batch.isEmpty { try await flush() }
                let actual = try await Self.report(table: table, columns: tableColumns, target)
                guard actual == expected else {
                    throw SQLiteImport.ImportError(message: "\(table): SQLite holds \(actual.rows) rows with sums \(actual.sums), PostgreSQL \(expected.rows) with \(expected.sums); the file was deleted")
                }
                let seconds = max(SQLiteImport.seconds(ContinuousClock.now - started), 1e-6)
                progress("\(table): \(expected.rows) rows in \(NumberText.hundredths(seconds)) s (\(Int(Double(expected.rows) / seconds)) rows/s), counts and sums equal")
                reports.append(expected)
            }
            try await connection.query("COMMIT", logger: logger)
            return reports
        }
    }

    /// Row count and exact money sums on the SQLite side (TEXT decimals added in Swift).
    static func report(table: String, columns: [PostgresStore.Column], _ queue: DatabaseQueue) async throws -> SQLiteImport.TableReport {
        let numeric = columns.filter { $0.type == "numeric" }.map(\.name)
        return try await queue.read { db in
            var report = SQLiteImport.TableReport(table: table, rows: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0, sums: [:])
            for name in numeric {
                var sum = Decimal(0)
                for text in try String?.fetchAll(db, sql: "SELECT \"\(name)\" FROM \(table)") {
                    guard let text else { continue }
                    guard let value = DecimalText.parse(text) else {
                        throw SQLiteImport.ImportError(message: "\(table).\(name) holds '\(text)' in the new file, not a decimal")
                    }
                    sum += value
                }
                report.sums[name] = sum
            }
            return report
        }
    }
}
