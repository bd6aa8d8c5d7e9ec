@testable import CartelCore
import Foundation
import TestSupport
import Testing

/// ``KrakenNonceStore`` on both backends: one counter for every process on the database, above
/// every nonce handed out before and at least the floor, compared as numbers (the column is text).
@Suite struct KrakenNonceContractTests {
    /// `lastNonce()` of either store (it is not part of ``KrakenNonceStore``).
    static func lastNonce(_ store: ContractStore) async throws -> UInt64 {
        switch store {
        case let sqlite as SQLiteStorage: return try await sqlite.lastNonce()
        case let postgres as PostgresStore: return try await postgres.lastNonce()
        default: throw StorageError(.unavailable, "\(type(of: store)) is neither backend")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func theFloorWinsWhenAheadAndValuesCompareAsNumbers(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, sql in
            let nonces = stores[0]
            #expect(try await Self.lastNonce(nonces) == 0)
            #expect(try await nonces.reserveNonce(atLeast: 0) == 1)
            #expect(try await nonces.reserveNonce(atLeast: 0) == 2)
            #expect(try await nonces.reserveNonce(atLeast: 99) == 99)
            // 100 after 99: as text "99" sorts after "100".
            #expect(try await nonces.reserveNonce(atLeast: 100) == 100)
            #expect(try await nonces.reserveNonce(atLeast: 5) == 101)
            #expect(try await nonces.reserveNonce(atLeast: 1000) == 1000)
            // 999 is below 1000 (as text it sorts above it).
            #expect(try await nonces.reserveNonce(atLeast: 999) == 1001)
            #expect(try await sql.text("SELECT value FROM kraken_nonce WHERE id = 1") == "1001")
            // Beyond a signed 64-bit integer: still exact.
            let huge: UInt64 = 18_000_000_000_000_000_000
            #expect(try await nonces.reserveNonce(atLeast: huge) == huge)
            #expect(try await nonces.reserveNonce(atLeast: 1) == huge + 1)
            #expect(try await Self.lastNonce(nonces) == huge + 1)
            // A stored value that is not a number counts as 0: the floor decides.
            try await sql.execute("UPDATE kraken_nonce SET value = 'garbage' WHERE id = 1")
            #expect(try await Self.lastNonce(nonces) == 0)
            #expect(try await nonces.reserveNonce(atLeast: 7) == 7)
            #expect(try await nonces.reserveNonce(atLeast: 0) == 8)
        }
    }

    /// Three processes, each with four tasks asking in turn: every nonce is new, each task's
    /// nonces strictly increase, and the stored value is the largest handed out.
    @Test(arguments: StorageBackend.allCases)
    func processesOnOneDatabaseNeverShareANonce(_ backend: StorageBackend) async throws {
        try await backend.withStores(3) { stores, _ in
            let floor = UInt64(Date().timeIntervalSince1970 * 1_000_000)
            let sequences = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for index in 0..<12 {
                    let store = stores[index % stores.count]
                    group.addTask {
                        var taken: [UInt64] = []
                        for _ in 0..<40 { taken.append(try await store.reserveNonce(atLeast: floor)) }
                        return taken
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = sequences.flatMap { $0 }
            #expect(all.count == 480 && Set(all).count == 480)
            #expect(all.allSatisfy { $0 >= floor })
            #expect(sequences.allSatisfy { zip($0, $0.dropFirst()).allSatisfy { $0 < $1 } })
            #expect(try await Self.lastNonce(stores[1]) == all.max())
        }
    }
}
