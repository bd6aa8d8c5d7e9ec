import CartelCore
import Foundation
import TestSupport

// `cartel-redis-benchmark publish URL COUNT CLIENTS`: PUBLISH rate through our client, shaped
// like `redis-benchmark -t publish -n COUNT -c CLIENTS` (CLIENTS connections, each waiting for
// its reply before the next), then the services' shape (one connection, CLIENTS callers at once,
// pipelined) and the fire-and-forget publish the services use.
// `cartel-redis-benchmark zigzag-csv PATH COUNT`: 1-minute zigzag candles from the next minute
// on, as `market-data --replay` reads them.

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func publishRate(url: RedisURL, count: Int, clients: Int) async throws {
    let payload = String(repeating: "x", count: 3)  // redis-benchmark's default 3-byte value
    let channel = "signalcartel:bench"
    let clock = ContinuousClock()

    var connections: [RedisConnection] = []
    for _ in 0..<clients { connections.append(try await RedisConnection.connect(to: url)) }
    let perClient = count / clients
    let separate = try await clock.measure {
        try await withThrowingDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask { for _ in 0..<perClient { try await connection.publish(payload, to: channel) } }
            }
        }
    }
    for connection in connections { await connection.close() }
    let separateRate = Double(perClient * clients) / seconds(separate)
    print(String(format: "ours, %d connections, one PUBLISH in flight each: %.0f requests/s", clients, separateRate))

    let shared = try await RedisConnection.connect(to: url)
    let pipelined = try await clock.measure {
        try await withThrowingDiscardingTaskGroup { group in
            for _ in 0..<clients {
                group.addTask { for _ in 0..<perClient { try await shared.publish(payload, to: channel) } }
            }
        }
    }
    print(String(format: "ours, 1 connection, %d callers at once (pipelined): %.0f requests/s", clients, Double(perClient * clients) / seconds(pipelined)))

    let done = AsyncStream<Void>.makeStream()
    let remaining = Counter(count)
    let fireAndForget = await clock.measure {
        for _ in 0..<count {
            shared.send(["PUBLISH", channel, payload]) { _ in
                if remaining.decrement() == 0 { done.continuation.finish() }
            }
        }
        for await _ in done.stream {}
    }
    print(String(format: "ours, 1 connection, fire-and-forget (as services publish): %.0f requests/s", Double(count) / seconds(fireAndForget)))
    await shared.close()
    print(String(format: "RATE %.0f", separateRate))
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = value }
    func decrement() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value -= 1
        return value
    }
}

let arguments = CommandLine.arguments
switch arguments.dropFirst().first {
case "publish" where arguments.count == 5:
    guard let count = Int(arguments[3]), let clients = Int(arguments[4]), count > 0, clients > 0 else {
        FileHandle.standardError.write(Data("COUNT and CLIENTS must be positive numbers\n".utf8))
        exit(2)
    }
    try await publishRate(url: try RedisURL.parse(arguments[2]), count: count, clients: clients)
case "zigzag-csv" where arguments.count == 4:
    guard let count = Int(arguments[3]), count > 0 else {
        FileHandle.standardError.write(Data("COUNT must be a positive number\n".utf8))
        exit(2)
    }
    try ZigzagCandles.csv(ZigzagCandles.fromNextMinute(count: count)).write(toFile: arguments[2], atomically: true, encoding: .utf8)
default:
    FileHandle.standardError.write(Data("usage: cartel-redis-benchmark publish URL COUNT CLIENTS | zigzag-csv PATH COUNT\n".utf8))
    exit(2)
}
