import ArgumentParser
import Foundation
import GRDB
import Logging

/// `trading-engine db import|migrate|status`: the database behind `DATABASE_URL` (or `--url`),
/// SQLite or PostgreSQL.
public enum DatabaseCommands {
    static let logger = Logger(label: "db", factory: { _ in SwiftLogNoOpLogHandler() })

    static func url(_ given: String?, settings: Settings) -> String {
        given ?? settings.string("DATABASE_URL", default: DatabaseLocation.defaultURL)
    }

    /// The URL, parsed and checked with one connection (a clear error when it cannot be used).
    static func postgres(_ text: String, option: String) async throws -> PostgresURL {
        let url: PostgresURL
        do {
            url = try PostgresURL.parse(text, key: option)
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
        do {
            try await PostgresStore.probe(url, logger: logger)
        } catch let error as StorageError {
            throw ValidationError("\(error)")
        }
        return url
    }

    /// Runs `body` with a store, turning database errors into messages.
    static func using<T: Sendable>(_ url: PostgresURL, _ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        do {
            return try await PostgresStore.using(url, logger: logger, body)
        } catch let error as SQLiteImport.ImportError {
            throw ValidationError("\(error)")
        } catch let error as StorageError {
            throw ValidationError("\(error)")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("PostgreSQL at \(url.redacted): \(PostgresStore.describe(error))")
        }
    }

    /// Runs `body` with the services' database at `location` (either backend), turning database
    /// errors into messages.
    static func withStorage<T: Sendable>(_ location: DatabaseLocation, _ body: @Sendable (any ServiceStorage) async throws -> T) async throws -> T {
        do {
            return try await DatabaseAccess.using(location, poolSize: 2, logger: logger) { try await body(try await $0.open()) }
        } catch let error as StorageError {
            throw ValidationError("\(error)")
        }
    }

    /// ``withStorage(_:_:)`` while holding the trading engine's lock: for commands that change
    /// the ledger, which a running engine keeps in memory.
    static func withLedgerLock<T: Sendable>(_ location: DatabaseLocation, _ body: @Sendable (any ServiceStorage) async throws -> T) async throws -> T {
        do {
            return try await DatabaseAccess.using(location, poolSize: 2, logger: logger) { database in
                let storage = try await database.open()
                let lock: TradingEngineLock
                do {
                    lock = try await database.lockTradingEngine()
                } catch {
                    throw ValidationError("\(error) — the engine keeps its ledger in memory: stop it, adopt, start it again")
                }
                do {
                    let result = try await body(storage)
                    await lock.release()
                    return result
                } catch {
                    await lock.release()
                    throw error
                }
            }
        } catch let error as StorageError {
            throw ValidationError("\(error)")
        }
    }

    static func sqlitePath(_ text: String, option: String) throws -> String {
        do {
            guard let path = try DatabaseLocation.parse(text, key: option).sqlitePath() else {
                throw ValidationError("\(option) must name a SQLite database (sqlite:PATH)")
            }
            return path
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
    }
}

/// `db import --from sqlite:PATH --to postgres://…`
public struct DatabaseImportOptions: ParsableArguments {
    @Option(help: "The SQLite database to copy (sqlite:PATH).")
    public var from: String

    @Option(help: "The PostgreSQL database to fill (postgres://…; default: DATABASE_URL).")
    public var to: String?

    @Flag(help: "Delete what the PostgreSQL database holds first (otherwise a non-empty target is refused).")
    public var replace = false

    public init() {}

    public func run(settings: Settings = .environment()) async throws {
        let source = try DatabaseCommands.sqlitePath(from, option: "--from")
        let target = try await DatabaseCommands.postgres(DatabaseCommands.url(to, settings: settings), option: "--to")
        print("importing \(source) into \(target.redacted)")
        let started = ContinuousClock.now
        let replace = replace
        let reports = try await DatabaseCommands.using(target) { store in
            try await SQLiteImport(sourcePath: source, target: store, logger: DatabaseCommands.logger)
                .run(replace: replace) { line in print("  " + line) }
        }
        let rows = reports.reduce(0) { $0 + $1.rows }
        let seconds = SQLiteImport.seconds(ContinuousClock.now - started)
        print("imported \(rows) rows in \(reports.count) tables in \(NumberText.hundredths(seconds)) s; every table's row count and money sums are equal on both sides")
    }
}

/// `db export --from postgres://… --to sqlite:PATH`
public struct DatabaseExportOptions: ParsableArguments {
    @Option(help: "The PostgreSQL database to copy (postgres://…; default: DATABASE_URL).")
    public var from: String?

    @Option(help: "The new SQLite file to write (sqlite:PATH; must not exist).")
    public var to: String

    public init() {}

    public func run(settings: Settings = .environment()) async throws {
        let source = try await DatabaseCommands.postgres(DatabaseCommands.url(from, settings: settings), option: "--from")
        let target = try DatabaseCommands.sqlitePath(to, option: "--to")
        print("exporting \(source.redacted) into \(target)")
        let started = ContinuousClock.now
        let reports = try await DatabaseCommands.using(source) { store in
            try await SQLiteExport(source: store, targetPath: target, logger: DatabaseCommands.logger).run { line in print("  " + line) }
        }
        let rows = reports.reduce(0) { $0 + $1.rows }
        let seconds = SQLiteImport.seconds(ContinuousClock.now - started)
        print("exported \(rows) rows in \(reports.count) tables in \(NumberText.hundredths(seconds)) s; every table's row count and money sums are equal on both sides")
    }
}

/// `db migrate` and `db status`.
public struct DatabaseTargetOptions: ParsableArguments {
    @Option(help: "The database (default: DATABASE_URL): sqlite:PATH or postgres://…")
    public var url: String?

    public init() {}

    public func migrate(settings: Settings = .environment()) async throws {
        let text = DatabaseCommands.url(url, settings: settings)
        if PostgresURL.isPostgres(text) {
            let target = try await DatabaseCommands.postgres(text, option: "--url")
            let result = try await DatabaseCommands.using(target) { try await $0.migrate() }
            print("\(target.redacted): schema version \(result.from) -> \(result.to)")
        } else {
            let path = try DatabaseCommands.sqlitePath(text, option: "--url")
            _ = try SQLiteStorage(path: path)  // opening migrates
            print("\(path): schema up to date (\(SQLiteSchema.migrator.migrations.count) migrations)")
        }
    }

    public func status(settings: Settings = .environment()) async throws {
        let text = DatabaseCommands.url(url, settings: settings)
        var lines: [String] = []
        if PostgresURL.isPostgres(text) {
            let target = try await DatabaseCommands.postgres(text, option: "--url")
            let (version, sizes) = try await DatabaseCommands.using(target) { store in
                (try await store.schemaVersion(), try await store.tableSizes())
            }
            lines.append("\(target.redacted): PostgreSQL, schema version \(version) of \(PostgresSchema.latestVersion)")
            for size in sizes { lines.append("  \(BacktestReport.pad(size.table, 24)) ~\(size.rows) rows  \(size.bytes / 1024) KiB") }
        } else {
            let path = try DatabaseCommands.sqlitePath(text, option: "--url")
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no SQLite database at \(path)") }
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            lines += try await queue.read { db -> [String] in
                var lines: [String] = []
                let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                lines.append("\(path): SQLite, \(applied.count) of \(SQLiteSchema.migrator.migrations.count) migrations applied (last: \(applied.last ?? "none")), \(size / 1024) KiB")
                for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                    let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(table)\"") ?? 0
                    lines.append("  \(BacktestReport.pad(table, 24)) \(count) rows")
                }
                return lines
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
