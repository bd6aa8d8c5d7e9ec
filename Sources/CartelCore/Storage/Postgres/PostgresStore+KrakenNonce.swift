import Foundation
import PostgresNIO

extension PostgresStore: KrakenNonceStore {
    /// One counter for every process on this database: a single upsert raises the stored value
    /// and returns it, so two processes never get the same nonce. The value is TEXT (as in
    /// SQLite) and compared as a number; one that is not an unsigned 64-bit number counts as 0,
    /// as SQLite reads it.
    public func reserveNonce(atLeast floor: UInt64) async throws -> UInt64 {
        let rows = try await client.query("""
            INSERT INTO kraken_nonce (id, value) VALUES (1, GREATEST(1, \(String(floor))::NUMERIC)::TEXT)
            ON CONFLICT (id) DO UPDATE SET value = GREATEST(
                COALESCE(\(unescaped: Self.storedNonce), 0) + 1, \(String(floor))::NUMERIC)::TEXT
            RETURNING value
            """, logger: logger)
        for try await (text) in rows.decode(String.self) {
            guard let nonce = UInt64(text) else { throw StorageError(.corruptValue, "kraken_nonce.value \(text) exceeds an unsigned 64-bit nonce") }
            return nonce
        }
        throw StorageError(.corruptValue, "no kraken_nonce.value returned")
    }

    /// The highest nonce handed out so far (0 when none).
    public func lastNonce() async throws -> UInt64 {
        let rows = try await client.query("SELECT value FROM kraken_nonce WHERE id = 1", logger: logger)
        for try await (text) in rows.decode(String.self) { return UInt64(text) ?? 0 }
        return 0
    }

    /// `kraken_nonce.value` as NUMERIC when it holds what Swift's `UInt64(_:)` reads, else NULL
    /// (the nested CASE keeps the cast from seeing other text).
    static let storedNonce = """
        CASE WHEN kraken_nonce.value ~ '^[+]?[0-9]+$' THEN
            CASE WHEN kraken_nonce.value::NUMERIC <= 18446744073709551615 THEN kraken_nonce.value::NUMERIC END END
        """
}
