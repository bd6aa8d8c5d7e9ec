import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// Makes one process the trading engine of a PostgreSQL database: a session-level advisory lock
/// held on a connection of its own for as long as the engine runs, so a second engine (on this
/// machine or another) is refused and told who holds it. The server drops the lock with the
/// session, so it never outlives a dead engine.
///
/// Run as a service beside the engine: it checks the session every few seconds; when the server
/// restarted (the session, and with it the lock, is gone) it reconnects with backoff and takes the
/// lock again. If another engine took it meanwhile, it throws, and this engine stops: the
/// other one trades the ledger.
public struct PostgresEngineLock: Service {
    static let key: Int64 = 0x5343_456E_6769_6E65  // "SCEngine"

    let url: PostgresURL
    let identity: ProcessIdentity
    let first: PostgresConnection
    let checkEvery: Duration
    let logger: Logger

    /// Takes the lock or throws ``StorageError`` `.locked` naming the process that holds it.
    public static func acquire(
        url: PostgresURL, identity: ProcessIdentity = .current(), checkEvery: Duration = .seconds(2), logger: Logger
    ) async throws -> PostgresEngineLock {
        let connection = try await connect(url: url, identity: identity, logger: logger)
        do {
            try await take(connection, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        return PostgresEngineLock(url: url, identity: identity, first: connection, checkEvery: checkEvery, logger: logger)
    }

    static func connect(url: PostgresURL, identity: ProcessIdentity, logger: Logger) async throws -> PostgresConnection {
        var configuration = try PostgresStore.connectionConfiguration(url)
        // Shown in pg_stat_activity: how a refused engine learns who holds the lock.
        configuration.options.additionalStartupParameters = [
            ("application_name", String("signalcartel trading-engine pid \(identity.pid) on \(identity.host)".prefix(63))),
        ]
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw StorageError(.unavailable, "cannot use PostgreSQL at \(url.redacted): \(PostgresStore.describe(error))")
        }
    }

    static func take(_ connection: PostgresConnection, logger: Logger) async throws {
        var taken = false
        for try await (result) in try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).decode(Bool.self) {
            taken = result
        }
        guard !taken else { return }
        var holder = "another process"
        for try await (name) in try await connection.query("""
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND ((l.classid::BIGINT << 32) | l.objid::BIGINT) = \(key)
            """, logger: logger).decode(String.self) where !name.isEmpty {
            holder = name
        }
        throw StorageError(.locked, "another trading-engine is already running on this database (\(holder)); stop it first")
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
            // A query on a session the server ended can wait for ever: look at the socket first.
            if !connection.isClosed {
                do {
                    try await connection.query("SELECT 1", logger: logger)
                    continue
                } catch {
                    logger.warning("engine lock session failed", metadata: ["error": "\(PostgresStore.describe(error))"])
                }
            }
            logger.warning("engine lock session lost (PostgreSQL restarted?): taking the lock again")
            // The session is gone, and the lock with it: reconnect and take it again.
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    let fresh = try await Self.connect(url: url, identity: identity, logger: logger)
                    do {
                        try await Self.take(fresh, logger: logger)
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
