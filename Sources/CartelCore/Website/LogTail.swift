import Foundation

/// The last lines of a service's log (`<log dir>/<service>.log`, the file the scripts write).
/// The path is built from a ``ServiceName`` only, never from request text.
public struct LogTail: Sendable {
    public struct Line: Sendable, Equatable, Encodable {
        public var time: String?
        public var level: String?
        public var text: String
    }

    public static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(of service: ServiceName) -> String {
        (directory as NSString).appendingPathComponent("\(service.rawValue).log")
    }

    /// Up to `limit` of the newest lines at `minimumLevel` or above (lines without a level, such
    /// as a crash's stderr, are always kept), reading at most the last `maxBytes` of the file.
    public func lines(of service: ServiceName, minimumLevel: String? = nil, limit: Int = 200, maxBytes: Int = 512 * 1024) -> [Line] {
        guard let handle = FileHandle(forReadingAtPath: path(of: service)) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return [] }
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return [] }
        var text = String(decoding: data, as: UTF8.self)
        if start > 0, let newline = text.firstIndex(of: "\n") { text = String(text[text.index(after: newline)...]) }
        let threshold = minimumLevel.flatMap { Self.levels.firstIndex(of: $0) } ?? 0
        var result: [Line] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true).reversed() {
            let line = Self.parse(String(raw))
            if let level = line.level, let rank = Self.levels.firstIndex(of: level), rank < threshold { continue }
            result.append(line)
            if result.count == limit { break }
        }
        return result.reversed()
    }

    /// The newest line of a service's log.
    public func lastLine(of service: ServiceName) -> Line? {
        lines(of: service, limit: 1, maxBytes: 16 * 1024).last
    }

    /// `2026-11-25T21:07:02.123Z info website: message key=value`.
    static func parse(_ text: String) -> Line {
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].hasSuffix("Z"), parts[0].count >= 20, levels.contains(String(parts[1])) else {
            return Line(time: nil, level: nil, text: text)
        }
        var message = Substring(parts[2])
        if let colon = message.firstIndex(of: ":"), ServiceName(rawValue: String(message[..<colon])) != nil {
            message = message[message.index(after: colon)...].drop { $0 == " " }
        }
        return Line(time: String(parts[0]), level: String(parts[1]), text: String(message))
    }
}
