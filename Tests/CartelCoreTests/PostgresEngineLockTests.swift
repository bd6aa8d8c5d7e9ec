@testable import CartelCore
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// One trading engine per PostgreSQL database, enforced where it matters: an engine whose lock
/// session is gone (a server restart, a network cut, a kill) places no order until it holds the
/// lock again, and a second engine is refused while the first holds it.
@Suite struct PostgresEngineLockTests {
    static let logger = Logger(label: "lock-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func order(_ client: String) -> OrderRecord {
        OrderRecord(
            strategyID: 1, signalID: nil, clientOrderID: client, mode: .paper, pair: "BTC/USD", side: .buy, quantity: 1, status: .submitting,
            createdAt: Date())
    }

    @Test func anEngineWhoseLockSessionIsGonePlacesNoOrder() async throws {
        try await PostgresTestDatabase.with { store, url in
            try await store.migrate()
            _ = try await store.seedStrategies(StrategySpec.parseList("sma-cross:BTC/USD:60"), at: Date())
            let me = ProcessIdentity(pid: 4242, host: "vps-1", version: "t", startedAt: Date())
            let lock = try await PostgresEngineLock.acquire(url: url, identity: me, session: store.engineSession, logger: Self.logger)
            _ = try await store.recordOrder(Self.order("before"), at: Date())

            // Another engine is refused and told who holds the lock.
            let other = ProcessIdentity(pid: 7, host: "vps-2", version: "t", startedAt: Date())
            let refused = await #expect(throws: StorageError.self) {
                _ = try await PostgresEngineLock.acquire(url: url, identity: other, logger: Self.logger)
            }
            #expect(refused?.kind == .locked && "\(refused.map { "\($0)" } ?? "")".contains("pid 4242 on vps-1"))

            // The lock's session ends (the server terminates it): no new order goes out.
            let pid = try #require(store.engineSession.pid)
            _ = try await store.client.query("SELECT pg_terminate_backend(\(pid), 5000)", logger: Self.logger)
            let stopped = await #expect(throws: StorageError.self) { try await store.recordOrder(Self.order("after"), at: Date()) }
            #expect(stopped?.kind == .locked)
            #expect(try await store.unfinishedOrders(mode: .paper).map(\.clientOrderID) == ["before"])
            await lock.release()
        }
    }

    /// A session of this very process left behind (its socket died on our side only) does not
    /// lock the engine out: it is ended, and the lock taken.
    @Test func aStaleSessionOfThisProcessIsEndedNotObeyed() async throws {
        try await PostgresTestDatabase.with { store, url in
            try await store.migrate()
            _ = try await store.seedStrategies(StrategySpec.parseList("sma-cross:BTC/USD:60"), at: Date())
            let me = ProcessIdentity(pid: 4243, host: "vps-1", version: "t", startedAt: Date())
            let stale = try await PostgresEngineLock.acquire(url: url, identity: me, logger: Self.logger)
            do {
                let fresh = try await PostgresEngineLock.acquire(url: url, identity: me, session: store.engineSession, logger: Self.logger)
                _ = try await store.recordOrder(Self.order("mine"), at: Date())
                await fresh.release()
            } catch {
                Issue.record(error)
            }
            await stale.release()
        }
    }
}
