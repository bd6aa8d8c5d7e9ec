import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A PostgreSQL database reached through PostgresNIO's connection pool: sessions in UTC with a
/// statement timeout, the pool sized per service, and the versioned schema of
/// ``PostgresSchema`` applied under an advisory lock. ``run()`` keeps the pool's connections
/// (and reconnects them after a server restart); run it for as long as the database is used.
public final class PostgresStore: Sendable {
    public let url: PostgresURL
    let client: PostgresClient
    /// Which session holds the trading engine's lock (checked before each order is stored).
    public let engineSession = EngineSession()
    /// How long ``ping()`` waits for the server.
    static let pingTimeout = Duration.seconds(2)
    let logger: Logger

    /// - Parameters:
    ///   - poolSize: connections at most (`DATABASE_POOL_SIZE`).
    ///   - statementTimeout: the server cancels a statement that runs longer.
    public init(url: PostgresURL, poolSize: Int = 5, statementTimeout: Duration = .seconds(30), logger: Logger) throws {
        var configuration: PostgresClient.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: url.user, password: url.password, database: url.database,
                tls: url.tls == .require ? .require(.makeClientConfiguration()) : .disable)
        case .unixSocket:
            configuration = PostgresClient.Configuration(
                unixSocketPath: url.endpoint.socketPath!, username: url.user, password: url.password, database: url.database)
        }
        configuration.options.maximumConnections = max(1, poolSize)
        configuration.options.minimumConnections = 0
        let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("TimeZone", "UTC"), ("statement_timeout", "\(milliseconds)"), ("application_name", "signalcartel"),
        ]
        self.url = url
        self.logger = logger
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Keeps the pool running until the task is cancelled.
    public func run() async {
        await client.run()
    }

    /// Opens one connection and closes it: a clear error (refused, unknown host, bad password,
    /// no such database) where the pool would only report that it could not connect.
    public static func probe(_ url: PostgresURL, logger: Logger) async throws {
        let configuration = try connectionConfiguration(url)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw StorageError(.unavailable, "cannot use PostgreSQL at \(url.redacted): \(describe(error))")
        }
    }

    /// One connection's settings for `url` (the pool has its own).
    static func connectionConfiguration(_ url: PostgresURL) throws -> PostgresConnection.Configuration {
        switch url.endpoint {
        case .tcp(let host, let port):
            return PostgresConnection.Configuration(
                host: host, port: port, username: url.user, password: url.password, database: url.database,
                tls: url.tls == .require ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        case .unixSocket:
            return PostgresConnection.Configuration(
                unixSocketPath: url.endpoint.socketPath!, username: url.user, password: url.password, database: url.database)
        }
    }

    /// What went wrong, in words: the server's message, or the network's; never a password.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        // The pool's own errors (it gave up connecting) name no cause.
        if String(describing: type(of: error)).contains("ConnectionPoolError") {
            return "could not connect (is the server running, and the host and port right?)"
        }
        return "\(error)"
    }

    /// A store whose pool runs for the duration of `body` (commands and tests; a service runs
    /// ``run()`` in its service group instead).
    public static func using<T: Sendable>(
        _ url: PostgresURL, poolSize: Int = 2, logger: Logger, _ body: @Sendable (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresStore(url: url, poolSize: poolSize, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// What ``migrate()`` did: the schema version before and after.
    public struct MigrationResult: Sendable, Equatable {
        public var from: Int
        public var to: Int
    }

    /// Applies every migration newer than the database's version, each in one transaction, while
    /// holding an advisory lock (so services starting at once apply each migration once). A
    /// database newer than this binary is refused: its tables may no longer mean what this code
    /// thinks.
    @discardableResult
    public func migrate() async throws -> MigrationResult {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))", logger: logger)
            do {
                let result = try await Self.migrate(connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger)
                throw error
            }
        }
    }

    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> MigrationResult {
        _ = try await connection.simpleQuery("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """).get()
        let current = try await version(connection, logger: logger)
        let latest = PostgresSchema.latestVersion
        guard current <= latest else {
            throw StorageError(
                .unavailable,
                "the PostgreSQL schema is version \(current), newer than this binary knows (\(latest)): run the newer SignalCartel, or restore a backup made for this version")
        }
        for migration in PostgresSchema.migrations where migration.version > current {
            // One transaction per migration: all of it commits or none of it does.
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
            }
            logger.info("PostgreSQL schema migrated", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return MigrationResult(from: current, to: max(current, latest))
    }

    static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0)::INTEGER FROM schema_migrations", logger: logger)
        for try await (version) in rows.decode(Int.self) { return version }
        return 0
    }

    /// The schema version (0 before the first migration).
    public func schemaVersion() async throws -> Int {
        try await client.withConnection { connection in
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            for try await (found) in exists.decode(Bool.self) where !found { return 0 }
            return try await Self.version(connection, logger: logger)
        }
    }

    /// A column of a table, as the copy commands need it.
    struct Column: Sendable {
        var name: String
        /// `information_schema` data type (`numeric`, `timestamp with time zone`, ...).
        var type: String
        var isIdentity: Bool
    }

    /// Every table's columns in the public schema, in their declared order.
    func columns() async throws -> [String: [Column]] {
        let rows = try await client.query("""
            SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT, is_identity::TEXT
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
            """, logger: logger)
        var columns: [String: [Column]] = [:]
        for try await (table, name, type, identity) in rows.decode((String, String, String, String).self) {
            columns[table, default: []].append(Column(name: name, type: type, isIdentity: identity == "YES"))
        }
        return columns
    }

    /// Every table of the public schema with its estimated row count and size on disk.
    public func tableSizes() async throws -> [(table: String, rows: Int64, bytes: Int64)] {
        let rows = try await client.query("""
            SELECT c.relname::TEXT, GREATEST(c.reltuples, 0)::BIGINT, pg_total_relation_size(c.oid)::BIGINT
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
            """, logger: logger)
        var sizes: [(table: String, rows: Int64, bytes: Int64)] = []
        for try await (name, count, bytes) in rows.decode((String, Int64, Int64).self) { sizes.append((name, count, bytes)) }
        return sizes
    }
}
