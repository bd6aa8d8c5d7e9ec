@testable import CartelCore
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import Testing

/// `trading-engine db import|status|migrate` against the throwaway PostgreSQL server, on a
/// database the real paper engine filled.
@Suite(.serialized) struct DatabaseImportTests {
    static func sqliteCounts(_ path: String) async throws -> [String: Int] {
        let queue = try DatabaseQueue(path: path)
        return try await queue.read { db in
            var counts: [String: Int] = [:]
            for table in SQLiteImport.tables { counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") }
            return counts
        }
    }

    static func sqliteText(_ path: String, _ sql: String) async throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try await queue.read { db in try String.fetchAll(db, sql: sql) }
    }

    @Test func aPaperTradingDatabaseIsImportedWithEqualCountsAndExactSums() async throws {
        let dir = try TemporaryDirectory(prefix: "import")
        defer { dir.remove() }
        let path = dir.file("paper.sqlite")
        let summary = try await DashboardSeed.seed(try SQLiteStorage(path: path), cycles: 12, end: Date(timeIntervalSince1970: 1_767_225_600))
        #expect(summary.trades >= 12)
        // Text COPY must carry as is: CRLF, a lone backslash-N, a backslash-dot, a tab; and an
        // event deleted at the end, whose id SQLite will never hand out again.
        let tricky = ["HTTP 502\r\n<html>", "\\N", "\\.", "tab\there", "e\u{301}\\\u{301}"]
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            for (index, value) in tricky.enumerated() {
                try db.execute(sql: "INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, '2025-01-01 00:00:00')", arguments: ["tricky\(index)", value])
            }
            try db.execute(sql: "DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)")
        }
        let counts = try await Self.sqliteCounts(path)
        #expect(counts["fills"]! > 0 && counts["events"]! > 0 && counts["alert_outbox"]! > 0)
        let pnl = try await Self.sqliteText(path, "SELECT realized_pnl FROM trades WHERE status = 'closed'")
            .reduce(Decimal(0)) { $0 + DecimalText.parse($1)! }

        try await PostgresTestDatabase.with { store, url in
            let engine = BuildProducts.path("trading-engine")
            let environment = ["PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(dir.file("unused.sqlite"))"]
            let result = try await ProcessRunner.run(engine, ["db", "import", "--from", "sqlite:\(path)", "--to", url.redacted], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("every table's row count and money sums are equal on both sides"), "\(result.stdout)")
            #expect(result.stdout.contains("fills: \(counts["fills"]!) rows"))

            // Checked again here, independently of the import's own check.
            for table in SQLiteImport.tables {
                let rows = try await store.client.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*)::BIGINT FROM \(table)"), logger: PostgresTestDatabase.logger)
                for try await (count) in rows.decode(Int64.self) { #expect(Int(count) == counts[table], "\(table)") }
            }
            let sum = try await store.client.query(
                "SELECT SUM(realized_pnl)::TEXT FROM trades WHERE status = 'closed'", logger: PostgresTestDatabase.logger)
            for try await (text) in sum.decode(String.self) { #expect(DecimalText.parse(text) == pnl) }
            let values = try await store.client.query("SELECT key, value FROM engine_state WHERE key LIKE 'tricky%' ORDER BY key", logger: PostgresTestDatabase.logger)
            var copied: [String] = []
            for try await (_, value) in values.decode((String, String).self) { copied.append(value) }
            #expect(copied == tricky)
            // Ids are kept, and new rows get ids after every id SQLite handed out.
            let maxEvent = try await Self.sqliteText(path, "SELECT seq FROM sqlite_sequence WHERE name = 'events'").first.flatMap { Int64($0) } ?? 0
            let inserted = try await store.client.query(
                "INSERT INTO events (kind, payload, created_at) VALUES ('pause', '{}', now()) RETURNING id", logger: PostgresTestDatabase.logger)
            for try await (id) in inserted.decode(Int64.self) { #expect(id == maxEvent + 1) }

            // A second import into a database that holds rows is refused, and changes nothing;
            // with --replace it starts over.
            let again = try await ProcessRunner.run(engine, ["db", "import", "--from", "sqlite:\(path)", "--to", url.redacted], environment: environment)
            #expect(again.status != 0)
            #expect(again.stderr.contains("already holds") && again.stderr.contains("--replace"), "\(again.stderr)")
            let replaced = try await ProcessRunner.run(
                engine, ["db", "import", "--from", "sqlite:\(path)", "--to", url.redacted, "--replace"], environment: environment)
            #expect(replaced.status == 0, "\(replaced.stderr)")
            let events = try await store.client.query("SELECT COUNT(*)::BIGINT FROM events", logger: PostgresTestDatabase.logger)
            for try await (count) in events.decode(Int64.self) { #expect(Int(count) == counts["events"]) }

            // And back: an export into a new SQLite file holds the same rows, sums and values.
            let exported = dir.file("exported.sqlite")
            let export = try await ProcessRunner.run(engine, ["db", "export", "--from", url.redacted, "--to", "sqlite:\(exported)"], environment: environment)
            #expect(export.status == 0, "\(export.stderr)")
            #expect(export.stdout.contains("every table's row count and money sums are equal on both sides"), "\(export.stdout)")
            #expect(try await Self.sqliteCounts(exported) == counts)
            let exportedPnL = try await Self.sqliteText(exported, "SELECT realized_pnl FROM trades WHERE status = 'closed'")
                .reduce(Decimal(0)) { $0 + DecimalText.parse($1)! }
            #expect(exportedPnL == pnl)
            #expect(try await Self.sqliteText(exported, "SELECT value FROM engine_state WHERE key LIKE 'tricky%' ORDER BY key") == tricky)
            #expect(try await Self.sqliteText(exported, "PRAGMA integrity_check") == ["ok"])
            // The copy opens as a database of this version, and its ledger reads back.
            let reopened = try SQLiteStorage(path: exported)
            #expect(try await reopened.closedTrades(mode: .paper).count == summary.trades)
            let again2 = try await ProcessRunner.run(engine, ["db", "export", "--from", url.redacted, "--to", "sqlite:\(exported)"], environment: environment)
            #expect(again2.status != 0 && again2.stderr.contains("exists already"), "\(again2.stderr)")

            let status = try await ProcessRunner.run(engine, ["db", "status", "--url", url.redacted], environment: environment)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("PostgreSQL, schema version \(PostgresSchema.latestVersion) of \(PostgresSchema.latestVersion)"), "\(status.stdout)")
            let local = try await ProcessRunner.run(engine, ["db", "status", "--url", "sqlite:\(path)"], environment: environment)
            #expect(local.stdout.contains("SQLite, \(SQLiteSchema.migrator.migrations.count) of \(SQLiteSchema.migrator.migrations.count) migrations applied"), "\(local.stdout)")
            #expect(local.stdout.contains("fills") && local.stdout.contains("\(counts["fills"]!) rows"))
        }
    }

    @Test func aSourceThatIsMissingOrBrokenIsRefusedBeforeAnythingIsCopied() async throws {
        let dir = try TemporaryDirectory(prefix: "import-bad")
        defer { dir.remove() }
        try Data("not a database at all".utf8).write(to: URL(fileURLWithPath: dir.file("junk.sqlite")))
        try await PostgresTestDatabase.with { store, url in
            let engine = BuildProducts.path("trading-engine")
            for (source, message) in [("missing.sqlite", "no SQLite database at"), ("junk.sqlite", "junk.sqlite")] {
                let result = try await ProcessRunner.run(
                    engine, ["db", "import", "--from", "sqlite:\(dir.file(source))", "--to", url.redacted], environment: ["PATH": "/usr/bin:/bin"])
                #expect(result.status != 0)
                #expect(result.stderr.contains(message), "\(result.stderr)")
            }
            let bad = try await ProcessRunner.run(
                engine, ["db", "import", "--from", "sqlite:\(dir.file("missing.sqlite"))", "--to", "postgres://u:hunter2@127.0.0.1/x?sslmode=maybe"],
                environment: ["PATH": "/usr/bin:/bin"])
            #expect(bad.status != 0 && bad.stderr.contains("sslmode") && !bad.stderr.contains("hunter2"), "\(bad.stderr)")
            // A refused login is named, without the password.
            guard case .tcp(let host, let port) = url.endpoint else { return }
            let refused = try await ProcessRunner.run(
                engine, ["db", "status", "--url", "postgres://nobody:hunter2@\(host):\(port)/\(url.database)"], environment: ["PATH": "/usr/bin:/bin"])
            #expect(refused.status != 0 && refused.stderr.contains(#"role "nobody" does not exist"#) && !refused.stderr.contains("hunter2"), "\(refused.stderr)")
            // Nothing reached the target.
            try await store.migrate()
            let rows = try await store.client.query("SELECT COUNT(*)::BIGINT FROM strategies", logger: PostgresTestDatabase.logger)
            for try await (count) in rows.decode(Int64.self) { #expect(count == 0) }
        }
    }
}
