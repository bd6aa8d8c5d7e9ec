import CartelCore
import Foundation
import Logging
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `cartel-alert-benchmark [ALERTS=200]`, in one run:
/// 1. event -> message delivered: ALERTS pause/resume changes stored 1.1 s apart (the trigger
///    writes each alert with the change), delivered by the production sender (1 message per
///    second, 500 ms outbox poll) to a fake Telegram Bot API on loopback; p50/p99/max. Then a
///    burst of 20 at once, to show the queue the 1 msg/s limit makes.
/// 2. the paper engine's candle -> order latency with alerts off and on (the sender, the service
///    watch and the daily summary running on the same SQLite file, delivering to the fake),
///    alternating rounds; p50/p99 and the on/off ratio.
@main
struct AlertBenchmark {
    static let silent = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func main() async throws {
        let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200 : 200
        do {
            try await run(count: count)
        } catch {
            FileHandle.standardError.write(Data("cartel-alert-benchmark: \(error)\n".utf8))
            exit(1)
        }
    }

    nonisolated static func run(count: Int) async throws {
        print("machine: \(Machine.description)")
        let fake = FakeTelegram()
        try await fake.run { url in
            try await delivery(count: count, url: url, fake: fake)
            try await engineLatency(url: url)
        }
    }

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "signalcartel-alert-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func sender(_ storage: SQLiteStorage, url: String) -> AlertSender<SystemTime> {
        AlertSender(
            storage: OpenStorage(storage), holder: "bench", notifiers: [TelegramNotifier(apiURL: url, token: "1:bench", chatID: "1")],
            clock: SystemTime(), logger: silent)
    }

    static func delivery(count: Int, url: String, fake: FakeTelegram) async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let storage = try SQLiteStorage(path: "\(dir)/alerts.sqlite")
        // The sender runs on its own connection, as in another process.
        let task = Task { try await sender(try SQLiteStorage(path: "\(dir)/alerts.sqlite"), url: url).run() }
        defer { task.cancel() }
        var sent: [String: Date] = [:]
        print("event -> delivered: \(count) alerts, one stored every 1.1 s (about \(Int(Double(count) * 1.1)) s)")
        for index in 0..<count {
            let by = "bench-\(index)"
            sent[by] = Date()
            try await storage.setPause(PauseState(paused: index % 2 == 0, by: by, at: Date()))
            try await Task.sleep(for: .milliseconds(1100))
        }
        let latencies = try await collect(sent, fake: fake)
        report("  ", latencies, goal: "p99 <= 1.5 s", met: percentile(latencies, 0.99) <= 1.5)

        // A burst: 20 alerts at once go out one per second, in order.
        let before = await fake.messages().count
        var burst: [String: Date] = [:]
        for index in 0..<20 {
            let by = "burst-\(index)"
            burst[by] = Date()
            // Each one a change (the trigger writes an alert only when the state changes).
            try await storage.setPause(PauseState(paused: (count + index) % 2 == 0, by: by, at: Date()))
        }
        let waits = try await collect(burst, fake: fake)
        let ordered = await fake.messages().dropFirst(before).map(\.text).compactMap { text in
            text.range(of: "burst-").map { Int(text[$0.upperBound...].prefix { $0.isNumber }) ?? -1 }
        }
        print("  burst of 20 at once: first after \(seconds(waits.first!)) s, last after \(seconds(waits.last!)) s, in order: \(ordered == Array(0..<20) ? "yes" : "NO")")
    }

    /// Waits for every message and returns the latencies, sorted.
    static func collect(_ sent: [String: Date], fake: FakeTelegram) async throws -> [Double] {
        let deadline = Date().addingTimeInterval(Double(sent.count) * 1.5 + 30)
        var found: [String: Date] = [:]
        while found.count < sent.count, Date() < deadline {
            for message in await fake.messages() {
                guard let range = message.text.range(of: "by ") else { continue }
                let by = String(message.text[range.upperBound...].prefix { !$0.isNewline })
                if sent[by] != nil, found[by] == nil { found[by] = message.at }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard found.count == sent.count else { throw BenchmarkError("only \(found.count) of \(sent.count) alerts arrived") }
        return sent.map { found[$0.key]!.timeIntervalSince($0.value) }.sorted()
    }

    static func engineLatency(url: String) async throws {
        print("engine candle -> paper order stored, alerts off and on (3 rounds each, alternating, 1,200 candles per round):")
        var off: [Double] = [], on: [Double] = []
        for _ in 0..<3 {
            off += try await engineRound(alerts: nil)
            on += try await engineRound(alerts: url)
        }
        off.sort()
        on.sort()
        report("  alerts off: ", off, goal: nil, met: true)
        report("  alerts on:  ", on, goal: nil, met: true)
        let ratio = percentile(on, 0.5) / percentile(off, 0.5)
        print("  ratio on/off: p50 \(NumberText.hundredths(ratio))x, p99 \(NumberText.hundredths(percentile(on, 0.99) / percentile(off, 0.99)))x (goal: unchanged)")
    }

    static func engineRound(alerts url: String?) async throws -> [Double] {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/engine.sqlite"
        let storage = try SQLiteStorage(path: path)
        _ = try await storage.seedStrategies(StrategySpec.parseList("sma-cross:BENCH/USD:1:fast=2,slow=3"), at: Date())
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: PaperExecution()), configuration: TradingConfiguration(), logger: silent)
        _ = try await engine.start()
        var tasks: [Task<Void, any Error>] = []
        if let url {
            // What every service runs with alerts on, on connections of its own.
            let other = OpenStorage(try SQLiteStorage(path: path))
            let identity = ProcessIdentity(pid: 1, host: "bench", version: "0", startedAt: Date())
            let watch = ServiceWatch(storage: other, me: .website, every: .seconds(1), clock: SystemTime(), logger: silent)
            let summary = DailySummaryService(
                storage: other, dashboard: Dashboard(provider: other, trading: TradingConfiguration(), identity: identity),
                schedule: SummarySchedule(hour: 0, minute: 0, timeZone: TimeZone(identifier: "UTC")!), clock: SystemTime(), logger: silent)
            let deliver = sender(try SQLiteStorage(path: path), url: url)
            tasks = [Task { try await watch.run() }, Task { try await summary.run() }, Task { try await deliver.run() }]
        }
        defer { tasks.forEach { $0.cancel() } }
        let clock = ContinuousClock()
        var latencies: [Double] = []
        for candle in ZigzagCandles.make(count: 1_200, start: Date().addingTimeInterval(-3 * 86_400)) {
            let before = await engine.currentLedger
            let elapsed = try await clock.measure { try await engine.onClosedCandle(candle) }
            if await engine.currentLedger != before { latencies.append(seconds(elapsed)) }
            // Candles arrive over time, not in one burst: the sender gets its turns in between.
            try await Task.sleep(for: .milliseconds(2))
        }
        return latencies
    }

    static func report(_ label: String, _ values: [Double], goal: String?, met: Bool) {
        let p50 = percentile(values, 0.5), p99 = percentile(values, 0.99)
        let unit = p99 < 0.1 ? ("ms", 1000.0) : ("s", 1.0)
        func format(_ value: Double) -> String { NumberText.hundredths(value * unit.1) }
        print("\(label)\(values.count) samples, p50 \(format(p50)) \(unit.0), p99 \(format(p99)) \(unit.0), max \(format(values.last ?? 0)) \(unit.0)"
            + (goal.map { "  (goal \($0): \(met ? "met" : "NOT met"))" } ?? ""))
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double { values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * p))] }

    static func seconds(_ value: Double) -> String { NumberText.hundredths(value) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
