import Foundation

/// Opens the SQLite database on first use and keeps it; while it cannot be opened, every call
/// fails fast with the last error, retrying the open at most once per `retryInterval`.
///
/// The website uses this so that it starts, and reports `degraded`, while the database is
/// unreachable, and recovers by itself once it is back.
public actor ReconnectingSQLiteProvider: StorageProvider {
    let location: DatabaseLocation
    let retryInterval: TimeInterval
    var opened: SQLiteStorage?
    var lastFailure: (at: Date, error: any Error)?

    public init(location: DatabaseLocation, retryInterval: TimeInterval = 1) {
        self.location = location
        self.retryInterval = retryInterval
    }

    public func storage() async throws -> any Storage {
        if let opened { return opened }
        if let lastFailure, Date().timeIntervalSince(lastFailure.at) < retryInterval {
            throw lastFailure.error
        }
        do {
            let storage = try SQLiteStorage(location: location)
            opened = storage
            lastFailure = nil
            return storage
        } catch {
            lastFailure = (Date(), error)
            throw error
        }
    }
}
