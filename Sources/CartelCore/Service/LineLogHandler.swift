import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler writing one line per event to a file descriptor (stdout by default):
/// `2026-11-25T21:07:02.123Z info website: listening host=127.0.0.1 port=3001`.
///
/// Timestamps are UTC; each line is written with a single `write(2)` so lines from concurrent
/// tasks never interleave and nothing sits in a buffer when the process dies.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    let service: String
    let output: LineOutput

    public init(service: String, level: Logger.Level = .info, output: LineOutput = .standardOutput) {
        self.service = service
        self.logLevel = level
        self.output = output
    }

    /// Installs this handler for the whole process; only executables call this.
    public static func bootstrap(service: String, level: Logger.Level) {
        LoggingSystem.bootstrap { _ in LineLogHandler(service: service, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        output.write(Self.format(
            date: Date(), level: event.level, service: service, message: "\(event.message)", metadata: merged))
    }

    /// The line for one event, without I/O (exposed for tests).
    public static func format(
        date: Date, level: Logger.Level, service: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var line = "\(UTCTime.iso8601(date)) \(level) \(service): \(message)"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(quoted("\(metadata[key]!)"))"
        }
        return line + "\n"
    }

    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return value }
        let escaped = value
            .replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}

/// Where ``LineLogHandler`` writes: a file descriptor, or a buffer in tests.
public struct LineOutput: Sendable {
    let sink: @Sendable (String) -> Void

    public init(_ sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    func write(_ line: String) { sink(line) }

    public static let standardOutput = LineOutput { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
