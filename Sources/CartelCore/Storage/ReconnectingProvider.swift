import Foundation

/// Opens the database on first use and keeps it; while it cannot be opened, every call fails
/// fast with the last error, retrying the open at most once per `retryInterval`.
///
/// The website uses this so that it starts, and reports `degraded`, while the database is
/// unreachable, and recovers by itself once it is back.
public actor ReconnectingProvider: StorageProvider {
    let open: @Sendable () async throws -> any Storage
    let retryInterval: TimeInterval
    var opened: (any Storage)?
    var lastFailure: (at: Date, error: any Error)?

    public init(retryInterval: TimeInterval = 1, open: @escaping @Sendable () async throws -> any Storage) {
        self.open = open
        self.retryInterval = retryInterval
    }

    /// A SQLite file, opened (and migrated) on first use.
    public init(location: DatabaseLocation, retryInterval: TimeInterval = 1) {
        self.init(retryInterval: retryInterval) { try SQLiteStorage(location: location) }
    }

    public func storage() async throws -> any Storage {
        if let opened { return opened }
        if let lastFailure, Date().timeIntervalSince(lastFailure.at) < retryInterval {
            throw lastFailure.error
        }
        do {
            let storage = try await open()
            opened = storage
            lastFailure = nil
            return storage
        } catch {
            lastFailure = (Date(), error)
            throw error
        }
    }
}
