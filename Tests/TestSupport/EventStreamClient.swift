import AsyncHTTPClient
import Foundation
import NIOCore

/// One Server-Sent Events frame.
public struct SSEFrame: Sendable, Equatable {
    public var id: String?
    public var event: String?
    public var data: String
    public var comment: Bool
}

/// Reads a real `text/event-stream` over HTTP until `done` says enough (or the timeout passes).
public enum EventStreamClient {
    public struct TimedOut: Error, CustomStringConvertible {
        public var frames: [SSEFrame]
        public var description: String { "timed out after \(frames.count) frames: \(frames.suffix(5))" }
    }

    public static func collect(
        url: String, lastEventID: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(20),
        until done: @escaping @Sendable ([SSEFrame]) -> Bool
    ) async throws -> (status: Int, frames: [SSEFrame]) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let prepared = request
        return try await withThrowingTaskGroup(of: (Int, [SSEFrame])?.self) { group in
            let collected = FrameBox()
            group.addTask {
                let response = try await HTTPClient.shared.execute(prepared, timeout: .seconds(Int64(timeout.components.seconds) + 5))
                guard response.status == .ok else { return (Int(response.status.code), []) }
                var text = ""
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    while let range = text.range(of: "\n\n") {
                        let block = String(text[..<range.lowerBound])
                        text = String(text[range.upperBound...])
                        await collected.append(parse(block))
                        if done(await collected.frames) { return (200, await collected.frames) }
                    }
                }
                return (200, await collected.frames)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else { throw TimedOut(frames: await collected.frames) }
            return (first.0, first.1)
        }
    }

    static func parse(_ block: String) -> SSEFrame {
        var frame = SSEFrame(id: nil, event: nil, data: "", comment: false)
        var data: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") { frame.comment = true; continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
            switch parts.first.map(String.init) {
            case "id": frame.id = value
            case "event": frame.event = value
            case "data": data.append(value)
            default: break
            }
        }
        frame.data = data.joined(separator: "\n")
        return frame
    }
}

actor FrameBox {
    var frames: [SSEFrame] = []
    func append(_ frame: SSEFrame) { frames.append(frame) }
}
