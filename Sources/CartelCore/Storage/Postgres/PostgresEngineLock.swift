import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Makes one process the trading engine of a PostgreSQL database: a session-level advisory lock
/// held on a connection of its own for as long as the engine runs, so a second engine (on this
/// machine or another) is refused and told who holds it. The server drops the lock with the
/// session, so it never outlives a dead engine.
///
/// Run as a service beside the engine: it checks the session every few seconds; when the server
/// restarted (the session, and with it the lock, is gone) it reconnects with backoff and takes the
/// lock again. If another engine took it meanwhile, it throws, and this engine stops: the
/// other one trades the ledger. Between the loss and the retake, the store's ``EngineSession``
/// makes `recordOrder` refuse: no order goes out from an engine that does not hold the lock.
public struct PostgresEngineLock: Service {
    static let key: Int64 = 0x5343_456E_6769_6E65  // "SCEngine"

    let url: PostgresURL
    let identity: ProcessIdentity
    let first: PostgresConnection
    let session: EngineSession?
    let checkEvery: Duration
    let logger: Logger

    /// Takes the lock or throws ``StorageError`` `.locked` naming the process that holds it.
    /// `session` (the store's) learns which server session holds it.
    public static func acquire(
        url: PostgresURL, identity: ProcessIdentity = .current(), session: EngineSession? = nil, checkEvery: Duration = .seconds(2),
        logger: Logger
    ) async throws -> PostgresEngineLock {
        let connection = try await connect(url: url, identity: identity, logger: logger)
        do {
            // Taken whether or not a session record is kept (`session?.held(by: try await …)`
            // would skip the call when there is none).
            let pid = try await take(connection, identity: identity, logger: logger)
            session?.held(by: pid)
        } catch {
            try? await connection.close()
            throw error
        }
        return PostgresEngineLock(url: url, identity: identity, first: connection, session: session, checkEvery: checkEvery, logger: logger)
    }

    static func applicationName(_ identity: ProcessIdentity) -> String {
        String("signalcartel trading-engine pid \(identity.pid) on \(identity.host)".prefix(63))
    }

    static func connect(url: PostgresURL, identity: ProcessIdentity, logger: Logger) async throws -> PostgresConnection {
        var configuration = try PostgresStore.connectionConfiguration(url)
        // Shown in pg_stat_activity: how a refused engine learns who holds the lock.
        // Keepalives: a session whose engine host died or got cut off ends in about 25 s, and
        // the lock with it, instead of after the kernel's two hours.
        configuration.options.additionalStartupParameters = [
            ("application_name", applicationName(identity)), ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
        ]
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw StorageError(.unavailable, "cannot use PostgreSQL at \(url.redacted): \(PostgresStore.describe(error))")
        }
    }

    /// Takes the lock on `connection`; returns the server's id of that session. A session of this
    /// same process holding it (left behind when only our side saw its socket die) is ended first.
    static func take(_ connection: PostgresConnection, identity: ProcessIdentity, logger: Logger) async throws -> Int32 {
        for attempt in 0..<2 {
            for try await (taken, session) in try await connection.query(
                "SELECT pg_try_advisory_lock(\(key)), pg_backend_pid()", logger: logger
            ).decode((Bool, Int32).self) where taken {
                return session
            }
            var holder: (pid: Int32, name: String)?
            for try await (pid, name) in try await connection.query("""
                SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND ((l.classid::BIGINT << 32) | l.objid::BIGINT) = \(key)
                """, logger: logger).decode((Int32, String).self) {
                holder = (pid, name)
            }
            guard let holder, attempt == 0, holder.name == applicationName(identity) else {
                let name = holder.map { $0.name.isEmpty ? "server session \($0.pid)" : $0.name } ?? "another process"
                throw StorageError(.locked, "another trading-engine is already running on this database (\(name)); stop it first")
            }
            logger.warning("ending a stale session of this engine that still holds the lock", metadata: ["session": "\(holder.pid)"])
            try await connection.query("SELECT pg_terminate_backend(\(holder.pid), 5000)", logger: logger)
        }
        throw StorageError(.locked, "the trading-engine lock could not be taken")
    }

    public func run() async throws {
        var connection = first
        do {
            try await keep(&connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Checks the session until shutdown, taking the lock again on a new one when it is lost.
    func keep(_ connection: inout PostgresConnection) async throws {
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: checkEvery) }
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            // A query on a session the server ended can wait for ever: look at the socket first,
            // and give up on an answer after 2 s.
            if !connection.isClosed {
                let checked = connection
                do {
                    let answered = try await PostgresStore.within(.seconds(2), onTimeout: { try? await checked.close() }) {
                        try await checked.query("SELECT 1", logger: logger)
                    }
                    if answered { continue }
                } catch {
                    logger.warning("engine lock session failed", metadata: ["error": "\(PostgresStore.describe(error))"])
                }
            }
            session?.lost()
            logger.warning("engine lock session lost (PostgreSQL restarted?): no orders until it is taken again")
            // The session is gone, and the lock with it: reconnect and take it again.
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    let fresh = try await Self.connect(url: url, identity: identity, logger: logger)
                    do {
                        let pid = try await Self.take(fresh, identity: identity, logger: logger)
                        session?.held(by: pid)
                    } catch {
                        try? await fresh.close()
                        throw error
                    }
                    try? await connection.close()
                    connection = fresh
                    backoff = .milliseconds(250)
                    logger.notice("engine lock taken again")
                    break
                } catch let error as StorageError where error.kind == .locked {
                    throw error
                } catch {
                    let wait = backoff
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }
    }

    /// Releases the lock now (commands that hold it briefly).
    public func release() async {
        try? await first.close()
    }
}

/// Which server session holds the trading engine's lock, for the store to check before an order
/// goes out. Not required (nothing checked) until an engine lock is taken with it.
public final class EngineSession: Sendable {
    let state = Mutex<(required: Bool, pid: Int32?)>((false, nil))

    public init() {}

    /// The session id, or nil while the lock is not held.
    public var pid: Int32? { state.withLock { $0.pid } }

    func held(by pid: Int32) { state.withLock { $0 = (true, pid) } }
    func lost() { state.withLock { $0.pid = nil } }

    /// Throws ``StorageError`` `.locked` unless this process's lock session still holds the lock
    /// (checked on `connection`, inside the caller's transaction).
    func check(_ connection: PostgresConnection, logger: Logger) async throws {
        let (required, pid) = state.withLock { $0 }
        guard required else { return }
        guard let pid else {
            throw StorageError(.locked, "this engine lost its PostgreSQL lock session and is taking it again: no order is placed meanwhile")
        }
        for try await (held) in try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = \(pid)
                AND ((classid::BIGINT << 32) | objid::BIGINT) = \(PostgresEngineLock.key))
            """, logger: logger).decode(Bool.self) where held {
            return
        }
        lost()
        throw StorageError(.locked, "this engine no longer holds the trading-engine lock (its session ended): no order is placed")
    }
}
