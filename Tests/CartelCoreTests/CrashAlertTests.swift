import CartelCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Crash alerts from a surviving service: the three real processes on one database and a fake
/// Telegram; the trading engine is killed with SIGKILL (no chance to say goodbye), and exactly
/// one "down" alert reaches Telegram from one of the two survivors, then one "back" when it
/// returns.
@Suite struct CrashAlertTests {
    func environment(_ dir: TemporaryDirectory, telegram: String) throws -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))",
            "HEARTBEAT_SECONDS": "1",
            "WEBSITE_PORT": "\(try ListeningSocket.freePort())",
            "MARKET_DATA_METRICS_PORT": "\(try ListeningSocket.freePort())",
            "TRADING_METRICS_PORT": "\(try ListeningSocket.freePort())",
            "MARKET_DATA_MODE": "external",
            "KRAKEN_API_URL": "http://127.0.0.1:1",
            "TELEGRAM_BOT_TOKEN": "123456789:AAH-crash-test-token",
            "TELEGRAM_CHAT_ID": "987654321",
            "TELEGRAM_API_URL": telegram,
            "SIGNALCARTEL_LOG_DIR": dir.path,
        ]
    }

    func start(_ service: String, _ dir: TemporaryDirectory, _ env: [String: String], run: Int = 0) throws -> ChildProcess {
        try ChildProcess(BuildProducts.path(service), [], environment: env, stdout: dir.file("\(service)-\(run).log"), stderr: dir.file("\(service)-\(run).err"))
    }

    func running(_ storage: SQLiteStorage, _ service: ServiceName, pid: pid_t) async -> Bool {
        guard let beats = try? await storage.heartbeats() else { return false }
        return beats.contains { $0.service == service && $0.pid == pid && PeerState.evaluate($0, now: Date()) == .running }
    }

    @Test(.timeLimit(.minutes(2))) func aKilledEngineIsAnnouncedDownOnceBySurvivorsAndBackOnce() async throws {
        let dir = try TemporaryDirectory(prefix: "crash")
        defer { dir.remove() }
        let fake = FakeTelegram()
        try await fake.run { url in
            let env = try environment(dir, telegram: url)
            let website = try start("website", dir, env)
            let marketData = try start("market-data", dir, env)
            var engine = try start("trading-engine", dir, env)
            defer { [website, marketData].forEach { $0.terminate() } }
            let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
            #expect(await Processes.eventually(30) {
                let (w, m, e) = (await running(storage, .website, pid: website.pid), await running(storage, .marketData, pid: marketData.pid),
                                 await running(storage, .tradingEngine, pid: engine.pid))
                return w && m && e
            })
            func count(_ text: String) async -> Int { await fake.messages().filter { $0.text.contains(text) }.count }

            kill(engine.pid, SIGKILL)
            _ = await engine.wait(timeout: 10)
            #expect(await Processes.eventually(40) { await count("trading-engine is down") >= 1 })
            try await Task.sleep(for: .seconds(4))  // both survivors look several more times
            #expect(await count("trading-engine is down") == 1)
            let down = try #require(await fake.messages().first { $0.text.contains("trading-engine is down") })
            #expect(down.text.contains("pid \(engine.pid)") && down.text.contains("without a clean stop"))

            engine = try start("trading-engine", dir, env, run: 1)
            defer { engine.terminate() }
            #expect(await Processes.eventually(40) { await count("trading-engine is back") >= 1 })
            try await Task.sleep(for: .seconds(4))
            #expect(await count("trading-engine is back") == 1)
            #expect(await count("trading-engine is down") == 1)
            #expect(await fake.messages().first { $0.text.contains("is back") }?.text.contains("pid \(engine.pid)") == true)
            // A clean stop is not news: SIGTERM the engine and no new "down" follows.
            engine.terminate()
            // Its last words ("stopped") are delivered by a survivor's sender.
            #expect(await Processes.eventually(20) { await count("Trading engine stopped") == 1 })
            try await Task.sleep(for: .seconds(4))
            let all = await fake.messages().map { "\($0.at): \($0.text)" }
            #expect(await count("trading-engine is down") == 1, "\(all)")
            // The token never reached a log line of any process.
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".log") || file.hasSuffix(".err") {
                #expect(!(try String(contentsOfFile: dir.file(file), encoding: .utf8)).contains("AAH-crash-test-token"), "\(file)")
            }
        }
    }

    /// kill -9 between writing an alert and sending it: the engine writes "started" into the
    /// outbox while Telegram does not answer, and dies; the website, started later, delivers it
    /// once (after the dead sender's lease runs out).
    @Test(.timeLimit(.minutes(2))) func anAlertWrittenByAProcessKilledBeforeSendingIsDeliveredOnceByTheNext() async throws {
        let dir = try TemporaryDirectory(prefix: "crash")
        defer { dir.remove() }
        let silent = try ListeningSocket()  // accepts connections, never answers
        defer { silent.close() }
        var env = try environment(dir, telegram: "http://127.0.0.1:\(silent.port)")
        let engine = try start("trading-engine", dir, env)
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        #expect(await Processes.eventually(30) { (try? await storage.pendingAlerts(limit: 10).contains { $0.kind == "engine" }) == true })
        kill(engine.pid, SIGKILL)
        _ = await engine.wait(timeout: 10)
        let fake = FakeTelegram()
        try await fake.run { url in
            env["TELEGRAM_API_URL"] = url
            let website = try start("website", dir, env)
            defer { website.terminate() }
            func started() async -> Int { await fake.messages().filter { $0.text.hasPrefix("<b>Trading engine started</b>") }.count }
            #expect(await Processes.eventually(40) { await started() == 1 })
            try await Task.sleep(for: .seconds(3))
            #expect(await started() == 1)
        }
        let rows = try await storage.query("SELECT status FROM alert_outbox WHERE kind = 'engine'")
        #expect(rows.map { $0[0] } == ["sent"])
    }
}
