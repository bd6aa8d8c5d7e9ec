import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// ``Storage`` on one SQLite file through GRDB's `DatabasePool` (WAL): many readers, one writer
/// per process, and several processes writing the same file safely — every write transaction is
/// `BEGIN IMMEDIATE` and waits up to `busyTimeout` for the lock instead of failing with
/// `SQLITE_BUSY`.
public final class SQLiteStorage: Storage {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating directories and the file when needed) and migrates the database.
    ///
    /// Opening (which switches a new file to WAL) and migration are serialised across processes
    /// with an exclusive `flock` on `PATH.lock`, so services started together never race to
    /// create the file or the schema: SQLite can refuse a concurrent switch to WAL with
    /// `SQLITE_BUSY` without waiting for the busy timeout.
    public init(path: String, busyTimeout: TimeInterval = 30) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } catch {
            throw StorageError(.unavailable, "cannot open SQLite database at \(path): \(error)")
        }
        pool = try Self.withFileLock(path + ".lock") {
            let pool: DatabasePool
            do {
                var configuration = Configuration()
                configuration.busyMode = .timeout(busyTimeout)
                configuration.prepareDatabase { db in
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                }
                pool = try DatabasePool(path: path, configuration: configuration)
            } catch {
                throw StorageError(.unavailable, "cannot open SQLite database at \(path): \(error)")
            }
            try SQLiteSchema.migrator.migrate(pool)
            return pool
        }
    }

    /// Opens the database named by a ``DatabaseLocation``.
    public convenience init(location: DatabaseLocation) throws {
        guard let path = location.sqlitePath() else {
            throw StorageError(.unavailable, "\(location) is a PostgreSQL database, not a SQLite file")
        }
        try self.init(path: path)
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1 FROM service_heartbeats LIMIT 1") }
    }

    /// Names of the tables the migrations created (for diagnostics and tests).
    public func tableNames() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master
                WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                ORDER BY name
                """)
        }
    }

    /// The identifiers of applied migrations, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    /// Runs a read-only SQL query (tooling and tests); values come back as text.
    public func query(_ sql: String) async throws -> [[String?]] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value in
                    value.isNull ? nil : String(describing: value.storage.value ?? "")
                }
            }
        }
    }

    /// Makes this process the only trading engine on this database, for as long as the returned
    /// lock lives (an exclusive `flock` on `PATH.trading-engine.lock`; the kernel releases it
    /// when the process dies, however it dies). Two engines on one database would trade the
    /// same ledger twice and race each other's Kraken nonces.
    public func lockTradingEngine(pid: Int32 = getpid()) throws -> ProcessLock {
        try ProcessLock(path: path + ".trading-engine.lock", pid: pid, holder: "trading-engine")
    }

    static func withFileLock<T>(_ lockPath: String, _ body: () throws -> T) throws -> T {
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StorageError(.unavailable, "cannot create lock file \(lockPath): errno \(errno)")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                throw StorageError(.unavailable, "cannot lock \(lockPath): errno \(errno)")
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

/// An exclusive lock held by this process until it is released or the process ends.
public final class ProcessLock: Sendable {
    let fd: Int32

    /// Takes the lock at `path` without waiting; the file records `pid` so that a refused process
    /// can say who holds it.
    init(path: String, pid: Int32, holder: String) throws {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.unavailable, "cannot create lock file \(path): errno \(errno)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard code == EWOULDBLOCK else { throw StorageError(.unavailable, "cannot lock \(path): errno \(code)") }
            let owner = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw StorageError(.locked, "another \(holder) (pid \(owner)) is already running on this database; stop it first (\(path))")
        }
        let text = Array("\(pid)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
