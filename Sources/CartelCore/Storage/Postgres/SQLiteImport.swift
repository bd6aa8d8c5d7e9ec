import Foundation
import GRDB
import PostgresNIO

/// Copies a SQLite database into PostgreSQL (`trading-engine db import`): the source is opened
/// read-only and checked (`PRAGMA integrity_check`, schema up to date); the target is migrated
/// and must be empty unless `replace`; every table is copied with `COPY` in one transaction,
/// ids kept and identity sequences moved past them; before committing, the row count of every
/// table and the exact sum of every money column are compared on both sides, and any
/// difference rolls the whole import back.
public struct SQLiteImport: Sendable {
    public struct TableReport: Sendable, Equatable {
        public var table: String
        public var rows: Int
        /// Exact sums of the table's NUMERIC columns, as both sides computed them.
        public var sums: [String: Decimal]
    }

    public struct ImportError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Tables in an order that satisfies every foreign key.
    static let tables = [
        "strategies", "signals", "orders", "fills", "trades", "positions", "strategy_cooldowns", "candles", "tickers",
        "market_data_collection", "equity_snapshots", "service_heartbeats", "kraken_asset_pairs", "kraken_nonce",
        "ledger_accounts", "ledger_adjustments", "engine_state", "events", "alert_outbox",
    ]

    let sourcePath: String
    let target: PostgresStore
    let logger: Logger

    public init(sourcePath: String, target: PostgresStore, logger: Logger) {
        self.sourcePath = sourcePath
        self.target = target
        self.logger = logger
    }

    /// Runs the import; `progress` is told each table's rows and rate as it finishes.
    public func run(replace: Bool, progress: @Sendable (String) -> Void = { _ in }) async throws -> [TableReport] {
        // One snapshot of every table: a service writing meanwhile cannot make the tables
        // disagree (a fill copied without its order).
        let source = try openSource().makeSnapshot()
        try await target.migrate()
        let columns = try await target.columns()
        return try await target.client.withTransaction(logger: logger) { connection in
            // A COPY of a large table is one statement: the session's timeout must not cut it.
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            let existing = try await Self.rowCount(connection, logger: logger)
            if existing > 0 {
                guard replace else {
                    throw ImportError(message: "the PostgreSQL database already holds \(existing) rows: import into an empty database, or pass --replace to delete them first")
                }
                try await connection.query(
                    PostgresQuery(unsafeSQL: "TRUNCATE \(Self.tables.joined(separator: ", ")) RESTART IDENTITY CASCADE"), logger: logger)
            }
            // The rows come with their journal and outbox rows: the triggers must not add more.
            for table in Self.tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(table) DISABLE TRIGGER USER"), logger: logger)
            }
            var reports: [TableReport] = []
            for table in Self.tables {
                guard let tableColumns = columns[table] else { throw ImportError(message: "the PostgreSQL schema has no table \(table)") }
                let started = ContinuousClock.now
                let sourceReport = try await copy(table: table, columns: tableColumns, from: source, to: connection)
                // SQLite never reuses an AUTOINCREMENT id, even of deleted rows: neither may PostgreSQL.
                let used = try await source.read { db in
                    try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table])
                } ?? 0
                try await Self.advanceIdentity(table: table, columns: tableColumns, pastAtLeast: used, connection, logger: logger)
                let targetReport = try await Self.report(table: table, columns: tableColumns, connection, logger: logger)
                guard targetReport == sourceReport else {
                    throw ImportError(message: "\(table): PostgreSQL holds \(targetReport.rows) rows with sums \(targetReport.sums), SQLite \(sourceReport.rows) rows with sums \(sourceReport.sums); nothing was imported")
                }
                let seconds = max(Self.seconds(ContinuousClock.now - started), 1e-6)
                progress("\(table): \(sourceReport.rows) rows in \(NumberText.hundredths(seconds)) s (\(Int(Double(sourceReport.rows) / seconds)) rows/s), counts and sums equal")
                reports.append(sourceReport)
            }
            for table in Self.tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(table) ENABLE TRIGGER USER"), logger: logger)
            }
            return reports
        }
    }

    func openSource() throws -> DatabasePool {
        guard FileManager.default.fileExists(atPath: sourcePath) else {
            throw ImportError(message: "no SQLite database at \(sourcePath)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabasePool
        do {
            queue = try DatabasePool(path: sourcePath, configuration: configuration)
        } catch {
            throw ImportError(message: "cannot open \(sourcePath): \(error)")
        }
        try queue.read { db in
            let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard check == ["ok"] else {
                throw ImportError(message: "\(sourcePath) fails PRAGMA integrity_check: \(check.prefix(3).joined(separator: "; ")); nothing was imported")
            }
            let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
            let known = Set(SQLiteSchema.migrator.migrations)
            guard applied == known else {
                throw ImportError(message: "\(sourcePath) has schema migrations \(applied.sorted()), this binary expects \(known.sorted()): start a service of this version on it once (it migrates), then import")
            }
        }
        return queue
    }

    static func rowCount(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        let sql = tables.map { "(SELECT COUNT(*) FROM \($0))" }.joined(separator: " + ")
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT (\(sql))::BIGINT"), logger: logger)
        for try await (count) in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Streams the table's rows from SQLite as COPY text, adding up its money columns exactly.
    func copy(table: String, columns: [PostgresStore.Column], from source: DatabaseSnapshot, to connection: PostgresConnection) async throws -> TableReport {
        let names = columns.map(\.name)
        let quoted = names.map { "\"\($0)\"" }.joined(separator: ", ")
        // One read of the table, encoded in pieces of about 1 MiB that COPY then sends (the
        // table's text is held in memory meanwhile: about 100 MB for a million candles).
        let (batches, report) = try await source.read { db -> ([String], TableReport) in
            var report = TableReport(table: table, rows: 0, sums: [:])
            for column in columns where column.type == "numeric" { report.sums[column.name] = 0 }
            var batches: [String] = []
            var text = ""
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(quoted) FROM \(table)")
            while let row = try cursor.next() {
                report.rows += 1
                for (index, column) in columns.enumerated() {
                    if index > 0 { text += "\t" }
                    let value: DatabaseValue = row[index]
                    switch value.storage {
                    case .null:
                        text += "\\N"
                    case .int64(let number):
                        text += String(number)
                        if column.type == "numeric" { report.sums[column.name]! += Decimal(number) }
                    case .double(let number):
                        text += "\(number)"
                        if column.type == "numeric" {
                            throw ImportError(message: "\(table).\(column.name) holds the floating-point value \(number), not exact decimal text")
                        }
                    case .string(let string):
                        if column.type == "numeric" {
                            guard let decimal = DecimalText.parse(string) else {
                                throw ImportError(message: "\(table).\(column.name) holds '\(string)', not a decimal number")
                            }
                            report.sums[column.name]! += decimal
                        }
                        text += Self.escape(string)
                        // SQLite times are UTC without a zone; say so.
                        if column.type == "timestamp with time zone", string.last?.isNumber == true { text += "+00" }
                    case .blob:
                        throw ImportError(message: "\(table).\(column.name) holds binary data, which no column of this schema stores")
                    }
                }
                text += "\n"
                if text.utf8.count >= 1 << 20 {
                    batches.append(text)
                    text = ""
                }
            }
            if !text.isEmpty { batches.append(text) }
            return (batches, report)
        }
        guard report.rows > 0 else { return report }
        try await connection.copyFrom(table: table, columns: names, logger: logger) { writer in
            for batch in batches { try await writer.write(ByteBuffer(string: batch)) }
        }
        return report
    }

    /// COPY text format: backslash, tab, newline and carriage return escaped, scalar by scalar
    /// (a `\r\n` pair or a backslash with a combining mark is one `Character`, not two).
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// Moves each identity sequence past the ids that came with the rows.
    static func advanceIdentity(
        table: String, columns: [PostgresStore.Column], pastAtLeast used: Int64, _ connection: PostgresConnection, logger: Logger
    ) async throws {
        for column in columns where column.isIdentity {
            try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table)', '\(column.name)'),
                              GREATEST(COALESCE(MAX("\(column.name)"), 0), \(used)) + 1, false) FROM \(table)
                """), logger: logger)
        }
    }

    /// Row count and exact money sums on the PostgreSQL side.
    static func report(table: String, columns: [PostgresStore.Column], _ connection: PostgresConnection, logger: Logger) async throws -> TableReport {
        let numeric = columns.filter { $0.type == "numeric" }.map(\.name)
        let sums = numeric.map { "COALESCE(SUM(\"\($0)\"), 0)::TEXT" }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \((["COUNT(*)::TEXT"] + sums).joined(separator: ", ")) FROM \(table)"), logger: logger)
        var report = TableReport(table: table, rows: 0, sums: [:])
        for try await row in rows {
            let cells = try row.map { try $0.decode(String.self) }
            report.rows = Int(cells[0]) ?? -1
            for (name, text) in zip(numeric, cells.dropFirst()) {
                guard let value = DecimalText.parse(text) else { throw ImportError(message: "\(table).\(name): PostgreSQL sum '\(text)'") }
                report.sums[name] = value
            }
        }
        return report
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
