/// Storage failures, grouped by what the caller does next.
public struct StorageError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The database cannot be opened or created at the configured location.
        case unavailable
        /// A stored value cannot be read back as its type (a corrupt or hand-edited row).
        case corruptValue
        /// The row exists already (an order with this client order id).
        case duplicate
        /// Another process holds the lock this one needs (a second trading engine).
        case locked
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
