import Foundation
import Logging
import ServiceLifecycle

/// What every service keeps in its database, on either backend.
public typealias ServiceStorage = DashboardStorage & AlertStorage & KrakenNonceStore

/// The database a service or command runs on, chosen by `DATABASE_URL`: a SQLite file (GRDB) or
/// a PostgreSQL database (PostgresNIO's pool, which reconnects by itself after a server restart).
/// The database is opened, and migrated, on first use, and kept.
public struct DatabaseAccess: Sendable {
    public let location: DatabaseLocation
    /// PostgreSQL: the pool, running for as long as ``using(_:poolSize:logger:_:)``'s body.
    let postgres: PostgresStore?
    let opener: ReconnectingProvider
    let logger: Logger

    /// Runs `body` with access to the database at `location`. For PostgreSQL the connection
    /// pool (`poolSize` connections at most) runs for as long as `body` does.
    public static func using<T: Sendable>(
        _ location: DatabaseLocation, poolSize: Int, logger: Logger, _ body: @Sendable (DatabaseAccess) async throws -> T
    ) async throws -> T {
        switch location {
        case .sqlite:
            return try await body(DatabaseAccess(location: location, postgres: nil, opener: ReconnectingProvider(location: location), logger: logger))
        case .postgres(let url):
            let store = try PostgresStore(url: url, poolSize: poolSize, logger: logger)
            let opener = ReconnectingProvider {
                // One direct connection first: a clear reason (refused, bad password, no such
                // database) where the pool would only say it could not connect.
                try await PostgresStore.probe(url, logger: logger)
                try await store.migrate()
                return store
            }
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await store.run()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(DatabaseAccess(location: location, postgres: store, opener: opener, logger: logger))
            }
        }
    }

    /// The database, opened and migrated; throws (with the reason) when it cannot be used now.
    public func open() async throws -> any ServiceStorage {
        let storage = try await opener.storage()
        guard let store = storage as? any ServiceStorage else {
            throw StorageError(.unavailable, "\(location) does not keep a ledger")
        }
        return store
    }

    /// Opens on first use and, while the database is unreachable, fails fast and retries at most
    /// once a second: the website starts, answers `degraded` while it cannot reach the database,
    /// and recovers by itself.
    public var provider: any StorageProvider {
        switch location {
        case .sqlite: opener
        // The pool keeps requests waiting while the server is down: a ping (at most one a
        // second) decides instead, so pages answer 503 at once rather than hang.
        case .postgres: CheckedProvider(opener: opener)
        }
    }

    /// Makes this process the database's only trading engine while the lock lives (and, for
    /// PostgreSQL, while its service runs beside the engine).
    public func lockTradingEngine(identity: ProcessIdentity = .current()) async throws -> TradingEngineLock {
        switch location {
        case .sqlite:
            guard let storage = try await opener.storage() as? SQLiteStorage else {
                throw StorageError(.unavailable, "\(location) is not a SQLite database")
            }
            return .file(try storage.lockTradingEngine(pid: identity.pid))
        case .postgres(let url):
            return .postgres(try await PostgresEngineLock.acquire(url: url, identity: identity, session: postgres?.engineSession, logger: logger))
        }
    }
}

/// Hands out the store while its last ping (at most a second old) succeeded.
actor CheckedProvider: StorageProvider {
    let opener: ReconnectingProvider
    var lastCheck: (at: ContinuousClock.Instant, error: (any Error)?)?

    init(opener: ReconnectingProvider) { self.opener = opener }

    func storage() async throws -> any Storage {
        let storage = try await opener.storage()
        if let lastCheck, ContinuousClock.now - lastCheck.at < .seconds(1) {
            if let error = lastCheck.error { throw error }
            return storage
        }
        do {
            try await storage.ping()
            lastCheck = (.now, nil)
            return storage
        } catch {
            lastCheck = (.now, error)
            throw error
        }
    }
}

/// Held while this process is the trading engine of its database.
public enum TradingEngineLock: Sendable {
    /// An exclusive `flock` beside the SQLite file; the kernel drops it when the process ends.
    case file(ProcessLock)
    /// A PostgreSQL session-level advisory lock, kept by its service.
    case postgres(PostgresEngineLock)

    /// What has to run beside the engine to keep the lock.
    public var service: (any Service)? {
        switch self {
        case .file: nil
        case .postgres(let lock): lock
        }
    }

    /// Releases it now (commands that hold it while they change the ledger).
    public func release() async {
        switch self {
        case .file: break
        case .postgres(let lock): await lock.release()
        }
    }
}
