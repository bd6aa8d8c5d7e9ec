import Foundation

/// Who is writing heartbeats: this process's id, host, version and start time.
public struct ProcessIdentity: Sendable, Equatable {
    public var pid: Int32
    public var host: String
    public var version: String
    public var startedAt: Date

    public init(pid: Int32, host: String, version: String, startedAt: Date) {
        self.pid = pid
        self.host = host
        self.version = version
        self.startedAt = startedAt
    }

    /// The running process.
    public static func current(startedAt: Date = Date()) -> ProcessIdentity {
        ProcessIdentity(
            pid: ProcessInfo.processInfo.processIdentifier,
            host: ProcessInfo.processInfo.hostName,
            version: SignalCartelVersion.current,
            startedAt: startedAt)
    }
}
