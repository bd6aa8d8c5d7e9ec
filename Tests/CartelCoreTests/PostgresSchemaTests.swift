@testable import CartelCore
import Foundation
import GRDB
import Logging
import PostgresNIO
import TestSupport
import Testing

/// A fresh database on the throwaway PostgreSQL server that `scripts/test.sh` starts (its URL in
/// SIGNALCARTEL_TEST_POSTGRES_URL), dropped afterwards. Without that server the test fails: it
/// is never skipped.
struct PostgresTestDatabase {
    static let logger = Logger(label: "postgres-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func serverURL() throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment["SIGNALCARTEL_TEST_POSTGRES_URL"] else {
            throw StorageError(.unavailable, "SIGNALCARTEL_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL")
        }
        return try PostgresURL.parse(text)
    }

    /// Runs `body` with a store (pool running) on a new, empty database.
    static func with<T: Sendable>(poolSize: Int = 4, _ body: @Sendable (PostgresStore, PostgresURL) async throws -> T) async throws -> T {
        let server = try serverURL()
        let name = "t_\(UUID().uuidString.prefix(8).lowercased())"
        try await withStore(server) { admin in
            _ = try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var url = server
        url.database = name
        let target = url
        let result: Result<T, any Error>
        do {
            result = .success(try await withStore(target, poolSize: poolSize) { store in try await body(store, target) })
        } catch {
            result = .failure(error)
        }
        try? await withStore(server) { admin in
            _ = try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
        return try result.get()
    }

    static func withStore<T: Sendable>(_ url: PostgresURL, poolSize: Int = 2, _ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        try await PostgresStore.using(url, poolSize: poolSize, logger: logger, body)
    }
}

@Suite struct PostgresURLTests {
    @Test func theURLFormsParse() throws {
        let tcp = try PostgresURL.parse("postgres://trader:s%40cret@db.example:6543/cartel?sslmode=require")
        #expect(tcp.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(tcp.user == "trader" && tcp.password == "s@cret" && tcp.database == "cartel" && tcp.tls == .require)
        #expect(tcp.redacted == "postgres://trader:***@db.example:6543/cartel?sslmode=require")
        #expect(!"\(tcp)".contains("s@cret") && !"\(tcp)".contains("s%40cret"))
        let plain = try PostgresURL.parse("postgresql://trader@127.0.0.1/cartel")
        #expect(plain.endpoint == .tcp(host: "127.0.0.1", port: 5432) && plain.password == nil && plain.tls == .disable)
        let socket = try PostgresURL.parse("postgres://trader@/cartel?host=/tmp/pg&port=55433")
        #expect(socket.endpoint == .unixSocket(directory: "/tmp/pg", port: 55433))
        #expect(socket.endpoint.socketPath == "/tmp/pg/.s.PGSQL.55433")
        let bare = try PostgresURL.parse("postgres:///cartel?host=/run/postgresql")
        #expect(bare.endpoint == .unixSocket(directory: "/run/postgresql", port: 5432) && !bare.user.isEmpty)
        #expect(PostgresURL.isPostgres("POSTGRES://x@y/z") && !PostgresURL.isPostgres("sqlite:data/x.sqlite"))
        // The services' DATABASE_URL check hides a password it cannot parse too.
        let services = #expect(throws: ConfigurationError.self) { try DatabaseLocation.parse("postgres://app:pa/ss#x@db/cartel") }
        #expect("\(String(describing: services))".contains("postgres://app:***@db/cartel"), "\(String(describing: services))")
        #expect(!"\(String(describing: services))".contains("pa/ss"))
        #expect(SQLiteImport.escape("a\r\nb\\\u{301}\tc\\N") == "a\\r\\nb\\\\\u{301}\\tc\\\\N")
    }

    @Test(arguments: [
        ("mysql://u@h/db", "scheme"), ("postgres://u:pw@h:5432", "name the database"), ("postgres://u:pw@h/a/b", "name the database"),
        ("postgres://u:pw@h:99999/db", "port"), ("postgres://u:pw@h/db?sslmode=sometimes", "sslmode"),
        ("postgres://u:pw@h/db?host=relative", "socket directory"), ("postgres://u:pw@h/db?colour=red", "unknown parameter 'colour'"),
        ("postgres://u:pw@h/db?host=/tmp", "either a host or host="), ("postgres://:pw@h/db", "name the user"),
        ("postgres://u:pw/x#y@h/db", "postgres://u:***@h/db"), ("postgres://u@h/db?password=s3cr3t", "password=***"),
    ])
    func badURLsAreClearErrorsWithoutThePassword(_ input: (String, String)) {
        let error = #expect(throws: ConfigurationError.self) { try PostgresURL.parse(input.0) }
        #expect("\(String(describing: error))".contains(input.1), "\(input.0): \(String(describing: error))")
        #expect(!"\(String(describing: error))".contains("s3cr3t") && !"\(String(describing: error))".contains(":pw@"))
        #expect(!"\(String(describing: error))".contains(":pw"), "\(String(describing: error))")
    }
}

@Suite(.serialized) struct PostgresSchemaTests {
    /// Every table and column of the SQLite schema, from a fresh SQLite database.
    static func sqliteColumns() async throws -> [String: Set<String>] {
        let dir = try TemporaryDirectory(prefix: "pg-schema")
        defer { dir.remove() }
        let path = dir.file("s.sqlite")
        _ = try SQLiteStorage(path: path)
        let output = try await ProcessRunner.run(
            "/usr/bin/sqlite3", [path, "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"])
        var columns: [String: Set<String>] = [:]
        for line in output.stdout.split(separator: "\n") {
            let parts = line.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, !["grdb_migrations", "sqlite_sequence"].contains(parts[0]) else { continue }
            columns[parts[0], default: []].insert(parts[1])
        }
        return columns
    }

    static func postgresColumns(_ store: PostgresStore) async throws -> [String: Set<String>] {
        let rows = try await store.client.query(
            "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns WHERE table_schema = 'public'",
            logger: PostgresTestDatabase.logger)
        var columns: [String: Set<String>] = [:]
        for try await (table, column) in rows.decode((String, String).self) where table != "schema_migrations" {
            columns[table, default: []].insert(column)
        }
        return columns
    }

    @Test func migratingCreatesTheSameTablesAndColumnsAsSQLite() async throws {
        let expected = try await Self.sqliteColumns()
        #expect(expected.count >= 19)
        try await PostgresTestDatabase.with { store, _ in
            #expect(try await store.schemaVersion() == 0)
            let result = try await store.migrate()
            #expect(result == PostgresStore.MigrationResult(from: 0, to: PostgresSchema.latestVersion))
            let actual = try await Self.postgresColumns(store)
            #expect(actual == expected)
            // A second run has nothing to do.
            #expect(try await store.migrate() == PostgresStore.MigrationResult(from: PostgresSchema.latestVersion, to: PostgresSchema.latestVersion))
            #expect(try await store.tableSizes().map(\.table).contains("candles"))
        }
    }

    @Test func servicesStartingAtOnceApplyEachMigrationOnce() async throws {
        try await PostgresTestDatabase.with { _, url in
            let results = try await withThrowingTaskGroup(of: PostgresStore.MigrationResult.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await PostgresTestDatabase.withStore(url) { try await $0.migrate() } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.from == 0 }.count == 1)
            #expect(results.allSatisfy { $0.to == PostgresSchema.latestVersion })
            try await PostgresTestDatabase.withStore(url) { store in
                let rows = try await store.client.query("SELECT COUNT(*)::INTEGER FROM schema_migrations", logger: PostgresTestDatabase.logger)
                for try await (count) in rows.decode(Int.self) { #expect(count == PostgresSchema.migrations.count) }
            }
        }
    }

    @Test func aNewerSchemaIsRefusedWithAClearMessage() async throws {
        try await PostgresTestDatabase.with { store, _ in
            try await store.migrate()
            try await store.client.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')", logger: PostgresTestDatabase.logger)
            let error = await #expect(throws: StorageError.self) { try await store.migrate() }
            #expect(error?.message.contains("schema is version 999, newer than this binary knows") == true, "\(String(describing: error))")
        }
    }

    @Test func moneyColumnsKeepEveryDigit() async throws {
        try await PostgresTestDatabase.with { store, _ in
            try await store.migrate()
            let price = "68123.123456789012345678901234"
            try await store.client.query(
                """
                INSERT INTO candles (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at)
                VALUES ('BTC/USD', 1, '2024-01-01 00:00:00+00', \(price)::NUMERIC, 1, 1, 1, 1, '0.00000001', 3, now())
                """, logger: PostgresTestDatabase.logger)
            let rows = try await store.client.query("SELECT open::TEXT, volume::TEXT FROM candles", logger: PostgresTestDatabase.logger)
            for try await (open, volume) in rows.decode((String, String).self) {
                #expect(open == price && volume == "0.00000001")
            }
            // The candle key is unique, as in SQLite.
            await #expect(throws: PSQLError.self) {
                try await store.client.query(
                    "INSERT INTO candles (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at) VALUES ('BTC/USD', 1, '2024-01-01 00:00:00+00', 1, 1, 1, 1, 1, 1, 3, now())",
                    logger: PostgresTestDatabase.logger)
            }
        }
    }

    /// The same changes, made by SQL that both dialects accept.
    static let changes = [
        "INSERT INTO strategies (name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at) VALUES ('s1', 'sma-cross', 'BTC/USD', 60, '{}', 1, '2025-01-01 00:00:00', '2025-01-01 00:00:00')",
        "INSERT INTO signals (strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price, created_at) VALUES (1, 'BTC/USD', 60, '2025-01-01 00:00:00', 'hold', 'nothing', 0, '68000', '2025-01-01 00:30:00')",
        "INSERT INTO signals (strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price, created_at) VALUES (1, 'BTC/USD', 60, '2025-01-01 00:00:00', 'enter', 'cross <up>', 0.7, '68000.5', '2025-01-01 01:00:00')",
        "INSERT INTO orders (strategy_id, signal_id, client_order_id, mode, pair, side, order_type, quantity, status, created_at, updated_at) VALUES (1, 2, 'c1', 'paper', 'BTC/USD', 'buy', 'market', '0.00125', 'submitting', '2025-01-01 01:00:00', '2025-01-01 01:00:00')",
        "UPDATE orders SET status = 'filled', filled_quantity = '0.00125', average_price = '68010.25', fee = '0.34', updated_at = '2025-01-01 01:00:01' WHERE id = 1",
        "INSERT INTO fills (order_id, exchange_trade_id, time, quantity, price, fee, cost) VALUES (1, 'T1', '2025-01-01 01:00:01', '0.00125', '68010.25', '0.34', '85.0128125')",
        "INSERT INTO trades (strategy_id, pair, status, quantity, entry_order_id, entry_time, entry_price, entry_fee, mode) VALUES (1, 'BTC/USD', 'open', '0.00125', 1, '2025-01-01 01:00:01', '68010.25', '0.34', 'paper')",
        "UPDATE trades SET status = 'closed', exit_time = '2025-01-01 03:00:00', exit_price = '69000', exit_fee = '0.35', realized_pnl = '0.5471875', exit_reason = 'take-profit', exit_quantity = '0.00125' WHERE id = 1",
        "INSERT INTO trades (strategy_id, pair, status, quantity, entry_time, entry_price, entry_fee, exit_time, exit_price, exit_fee, realized_pnl, exit_reason, mode) VALUES (1, 'BTC/USD', 'closed', '1', '2025-01-02 00:00:00', '10', '0', '2025-01-02 01:00:00', '9', '0', '-1', 'stop-loss', 'paper')",
        "INSERT INTO service_heartbeats (service, pid, host, version, started_at, last_beat, state, interval_seconds) VALUES ('market-data', 10, 'vps', '1', '2025-01-01 00:00:00', '2025-01-01 00:00:05', 'running', 5)",
        "UPDATE service_heartbeats SET last_beat = '2025-01-01 00:00:10' WHERE service = 'market-data'",
        "UPDATE service_heartbeats SET state = 'stopped', last_beat = '2025-01-01 00:01:00' WHERE service = 'market-data'",
        #"INSERT INTO engine_state (key, value, updated_at) VALUES ('paused', '{"paused":true,"reason":"manual"}', '2025-01-01 04:00:00')"#,
        #"UPDATE engine_state SET value = '{"paused":true,"reason":"reworded"}', updated_at = '2025-01-01 04:01:00' WHERE key = 'paused'"#,
        "UPDATE engine_state SET value = 'not json', updated_at = '2025-01-01 04:02:00' WHERE key = 'paused'",
        #"UPDATE engine_state SET value = '{"paused":false}', updated_at = '2025-01-01 04:03:00' WHERE key = 'paused'"#,
        "INSERT INTO engine_state (key, value, updated_at) VALUES ('last_mode', 'paper', '2025-01-01 04:04:00')",
    ]

    /// (table, kind, payload) of every journal and outbox row, in order.
    typealias Written = [(String, String, NSDictionary)]

    static func parse(_ table: String, _ kind: String, _ payload: String) throws -> (String, String, NSDictionary) {
        let object = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? NSDictionary
        return (table, kind, try #require(object, "\(table) \(kind): \(payload)"))
    }

    @Test func theTriggersWriteTheSameJournalAndOutboxAsSQLite() async throws {
        let dir = try TemporaryDirectory(prefix: "pg-triggers")
        defer { dir.remove() }
        _ = try SQLiteStorage(path: dir.file("s.sqlite"))
        let queue = try DatabaseQueue(path: dir.file("s.sqlite"))
        let sqlite: Written = try queue.write { db in
            for change in Self.changes { try db.execute(sql: change) }
            var written: Written = []
            for table in ["events", "alert_outbox"] {
                for row in try Row.fetchAll(db, sql: "SELECT kind, payload FROM \(table) ORDER BY id") {
                    written.append(try Self.parse(table, row["kind"], row["payload"]))
                }
            }
            return written
        }
        #expect(sqlite.count >= 14)
        let postgres: [(String, String, String)] = try await PostgresTestDatabase.with { store, _ in
            try await store.migrate()
            for change in Self.changes {
                try await store.client.query(PostgresQuery(unsafeSQL: change), logger: PostgresTestDatabase.logger)
            }
            var written: [(String, String, String)] = []
            for table in ["events", "alert_outbox"] {
                let rows = try await store.client.query(
                    PostgresQuery(unsafeSQL: "SELECT kind, payload FROM \(table) ORDER BY id"), logger: PostgresTestDatabase.logger)
                for try await (kind, payload) in rows.decode((String, String).self) { written.append((table, kind, payload)) }
            }
            return written
        }
        let parsed = try postgres.map { try Self.parse($0.0, $0.1, $0.2) }
        #expect(parsed.map { "\($0.0) \($0.1)" } == sqlite.map { "\($0.0) \($0.1)" })
        for (pg, lite) in zip(parsed, sqlite) {
            #expect(pg.2 == lite.2, "\(pg.0) \(pg.1): PostgreSQL \(pg.2) vs SQLite \(lite.2)")
        }
    }
}
