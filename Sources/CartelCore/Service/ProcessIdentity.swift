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
            host: hostName,
            version: SignalCartelVersion.current,
            startedAt: startedAt)
    }

    /// The kernel's host name (what `hostname` prints): the scripts compare it with a
    /// heartbeat's to tell a service on another machine from one that stopped here.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return ProcessInfo.processInfo.hostName }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
