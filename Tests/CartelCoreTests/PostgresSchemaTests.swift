@testable import CartelCore
import Foundation
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
    }

    @Test(arguments: [
        ("mysql://u@h/db", "scheme"), ("postgres://u:pw@h:5432", "name the database"), ("postgres://u:pw@h/a/b", "name the database"),
        ("postgres://u:pw@h:99999/db", "port"), ("postgres://u:pw@h/db?sslmode=sometimes", "sslmode"),
        ("postgres://u:pw@h/db?host=relative", "socket directory"), ("postgres://u:pw@h/db?colour=red", "unknown parameter 'colour'"),
        ("postgres://u:pw@h/db?host=/tmp", "either a host or host="), ("postgres://:pw@h/db", "name the user"),
    ])
    func badURLsAreClearErrorsWithoutThePassword(_ input: (String, String)) {
        let error = #expect(throws: ConfigurationError.self) { try PostgresURL.parse(input.0) }
        #expect("\(String(describing: error))".contains(input.1), "\(input.0): \(String(describing: error))")
        #expect(!"\(String(describing: error))".contains(":pw@"), "\(String(describing: error))")
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
}
