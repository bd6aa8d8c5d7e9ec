@testable import CartelCore
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// The operations scripts end to end, on real processes, a real SQLite file and a free port.
@Suite(.serialized) struct ScriptTests {
    /// Runs `body` in a fresh sandbox and always stops what it started.
    func withSandbox(
        extra: [String: String] = [:], _ body: (ScriptSandbox) async throws -> Void
    ) async throws {
        var box = try ScriptSandbox()
        box.extra = extra
        do {
            try await body(box)
        } catch {
            await box.tearDown()
            throw error
        }
        await box.tearDown()
    }

    @Test func startStatusDoubleStartAndStop() async throws {
        try await withSandbox { box in

            let start = try await box.run("start-server-decoupled.sh", ["minimal"])
            #expect(start.status == 0, "\(start.output)")
            #expect(start.stdout.contains("stop-server.sh"))
            let website = try #require(box.pid("website"))
            let engine = try #require(box.pid("trading-engine"))
            #expect(Processes.executable(of: website) == BuildProducts.path("website"))
            #expect(Processes.executable(of: engine) == BuildProducts.path("trading-engine"))

            let health = try await HTTP.get(box.healthURL)
            #expect(health.status == 200)
            #expect(HTTP.json(health.body)["status"] as? String == "ok")

            let status = try await box.status()
            #expect(status.code == 0)
            #expect(status.services["website"]?["state"] as? String == "running")
            #expect(status.services["website"]?["pid"] as? Int == Int(website))
            #expect(status.services["website"]?["port"] as? Int == box.port)
            #expect(status.services["website"]?["health"] as? String == "ok (HTTP 200)")
            #expect((status.services["trading-engine"]?["rssMB"] as? Int ?? 0) > 0)
            #expect(status.services["market-data"]?["state"] as? String == "stopped")
            let table = try await box.run("services/status.sh")
            #expect(table.stdout.contains("trading-engine  running"))

            let again = try await box.run("services/start-website.sh")
            #expect(again.status == 0)
            #expect(again.stdout.contains("already running (PID \(website))"))
            #expect(box.pid("website") == website)

            let stop = try await box.run("stop-server.sh")
            #expect(stop.status == 0, "\(stop.output)")
            #expect(!Processes.isAlive(website))
            #expect(!Processes.isAlive(engine))
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("website")))
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("trading-engine")))
            #expect(box.log("trading-engine").contains("trading-engine: stopped"))
            #expect(box.log("website").contains("website: stopped"))
            #expect(try await box.status().code == 3)
            let stopAgain = try await box.run("services/stop-trading.sh")
            #expect(stopAgain.status == 0)
            #expect(stopAgain.stdout.contains("not running"))
        }
    }

    /// The three services started by the scripts on a PostgreSQL database; a heartbeat from
    /// another machine shows as `remote` (its PID file is there, not here).
    @Test func theScriptsRunEveryServiceOnPostgreSQL() async throws {
        try await PostgresTestDatabase.with { store, url in
            try #require(url.password == nil)  // the throwaway server trusts local connections
            try await withSandbox(extra: ["DATABASE_URL": url.redacted, "DATABASE_POOL_SIZE": "2"]) { box in
                let start = try await box.run("start-server-decoupled.sh", ["standard"])
                #expect(start.status == 0, "\(start.output)")
                let health = try await HTTP.get(box.healthURL)
                #expect(health.status == 200, "\(health.body)")
                var status = try await box.status()
                for service in ["website", "trading-engine", "market-data"] {
                    #expect(status.services[service]?["state"] as? String == "running", "\(service): \(status.services)")
                }
                let beats = try await store.heartbeats()
                #expect(Set(beats.map(\.service)) == [.website, .tradingEngine, .marketData])
                #expect(beats.allSatisfy { $0.host == ProcessIdentity.hostName })
                #expect(box.log("trading-engine").contains("postgres://"), "the log names the database")

                // market-data stops here and runs on another machine.
                let stop = try await box.run("services/stop-market-data.sh")
                #expect(stop.status == 0, "\(stop.output)")
                var elsewhere = try #require(beats.first { $0.service == .marketData })
                elsewhere.host = "vps-other"
                elsewhere.pid = 99_999
                elsewhere.state = .running
                elsewhere.lastBeat = Date()
                elsewhere.intervalSeconds = 60  // stays fresh however slowly this machine runs the checks
                try await store.recordHeartbeat(elsewhere)
                status = try await box.status()
                #expect(status.services["market-data"]?["state"] as? String == "remote", "\(status.services)")
                let remoteHealth = status.services["market-data"]?["health"] as? String
                #expect(remoteHealth?.hasSuffix("on vps-other") == true, "\(status.services)")
                var host: String?
                for _ in 0..<20 where host == nil {
                    let api = HTTP.json(try await HTTP.get(box.healthURL).body)
                    host = ((api["services"] as? [String: Any])?["market-data"] as? [String: Any])?["host"] as? String
                    if host == nil { try await Task.sleep(for: .milliseconds(500)) }  // a cached or degraded answer
                }
                #expect(host == "vps-other")

                #expect(try await box.run("stop-server.sh").status == 0)
            }
        }
    }

    @Test func aPIDFileNamingADeadProcessIsStaleAndReplacedOnStart() async throws {
        try await withSandbox { box in
            let gone = try ChildProcess("/bin/true", [])
            _ = await gone.wait(timeout: 10)
            try FileManager.default.createDirectory(atPath: box.pidDir, withIntermediateDirectories: true)
            try "\(gone.pid)\n".write(toFile: box.pidFile("trading-engine"), atomically: true, encoding: .utf8)

            let status = try await box.status()
            #expect(status.code == 1)
            #expect(status.services["trading-engine"]?["state"] as? String == "stale PID")

            let start = try await box.run("services/start-trading.sh")
            #expect(start.status == 0, "\(start.output)")
            #expect(start.stdout.contains("removing stale PID file"))
            let pid = try #require(box.pid("trading-engine"))
            #expect(pid != gone.pid)
            #expect(Processes.isAlive(pid))
            #expect(try await box.status().code == 0)
        }
    }

    @Test func aPIDFileNamingAnotherProgramIsStaleAndThatProgramIsLeftAlone() async throws {
        try await withSandbox { box in
            let stranger = try ChildProcess("/bin/sleep", ["60"])
            defer { stranger.terminate() }
            try FileManager.default.createDirectory(atPath: box.pidDir, withIntermediateDirectories: true)
            try "\(stranger.pid)".write(toFile: box.pidFile("website"), atomically: true, encoding: .utf8)

            let status = try await box.status()
            #expect(status.code == 1)
            #expect(status.services["website"]?["state"] as? String == "stale PID")

            let stop = try await box.run("services/stop-website.sh")
            #expect(stop.status == 0)
            #expect(stop.stdout.contains("not running"))
            #expect(Processes.isAlive(stranger.pid), "stop killed a process that is not ours")
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("website")))

            try "\(stranger.pid)".write(toFile: box.pidFile("website"), atomically: true, encoding: .utf8)
            let start = try await box.run("services/start-website.sh")
            #expect(start.status == 0, "\(start.output)")
            #expect(start.stdout.contains("removing stale PID file"))
            #expect(box.pid("website") != stranger.pid)
            #expect(Processes.isAlive(stranger.pid))
        }
    }

    @Test func aBusyPortIsNamedAndNothingIsLeftBehind() async throws {
        try await withSandbox { box in
            let holder = try ListeningSocket(port: box.port)
            defer { holder.close() }

            let start = try await box.run("services/start-website.sh")
            #expect(start.status == 1)
            #expect(start.stderr.contains("port \(box.port) is already in use"))
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("website")))
        }
    }

    @Test func killingOneServiceLeavesTheOtherHealthyAndIsReportedStale() async throws {
        try await withSandbox { box in
            let start = try await box.run("start-server-decoupled.sh", ["minimal"])
            #expect(start.status == 0, "\(start.output)")
            let engine = try #require(box.pid("trading-engine"))

            kill(engine, SIGKILL)
            #expect(await Processes.eventually(5) { !Processes.isAlive(engine) })

            let health = try await HTTP.get(box.healthURL)
            #expect(health.status == 200)
            let status = try await box.status()
            #expect(status.code == 1)
            #expect(status.services["trading-engine"]?["state"] as? String == "stale PID")
            #expect(status.services["website"]?["state"] as? String == "running")

            // With 1 s beats the website calls the dead engine stale after 3 s.
            let sawStale = try await Processes.eventually(8) {
                let body = HTTP.json(try await HTTP.get(box.healthURL).body)
                let engineState = ((body["services"] as? [String: Any])?["trading-engine"] as? [String: Any])?["state"]
                return engineState as? String == "stale"
            }
            #expect(sawStale)

            let restart = try await box.run("services/start-trading.sh")
            #expect(restart.status == 0, "\(restart.output)")
            #expect(try await box.status().code == 0)
        }
    }

    @Test func aServiceThatFailsToStartShowsItsLogAndLeavesNoPIDFile() async throws {
        try await withSandbox(extra: ["TRADING_MAX_MEMORY_MB": "lots"]) { box in
            let start = try await box.run("services/start-trading.sh")
            #expect(start.status == 1)
            #expect(start.stderr.contains("exited during start-up"))
            #expect(start.stderr.contains("TRADING_MAX_MEMORY_MB='lots' is invalid"))
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("trading-engine")))
        }
    }

    @Test func aServiceThatNeverBecomesHealthyIsStoppedAfterTheTimeout() async throws {
        // A database path under a regular file: the website runs but answers 503 (degraded).
        let blocker = try TemporaryDirectory(prefix: "blocker")
        defer { blocker.remove() }
        try "not a directory".write(toFile: blocker.file("file"), atomically: true, encoding: .utf8)
        try await withSandbox(extra: ["DATABASE_URL": "sqlite:\(blocker.file("file"))/db.sqlite", "START_TIMEOUT": "3"]) { box in
            let start = try await box.run("services/start-website.sh")
            #expect(start.status == 1)
            #expect(start.stderr.contains("did not become healthy within 3s"), "\(start.output)")
            #expect(start.stderr.contains("website:"), "the last log lines are shown: \(start.output)")
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("website")))
            // What it started is gone: the port is free again.
            #expect(await Processes.eventually(5) { (try? ListeningSocket(port: box.port)) != nil })
        }
    }

    @Test func aServiceThatIgnoresSIGTERMIsKilledAfterTheStopTimeout() async throws {
        try await withSandbox(extra: ["STOP_TIMEOUT": "1"]) { box in
            let start = try await box.run("services/start-website.sh")
            #expect(start.status == 0, "\(start.output)")
            let pid = try #require(box.pid("website"))
            kill(pid, SIGSTOP)  // a hung process: SIGTERM stays pending, only SIGKILL ends it
            let stop = try await box.run("services/stop-website.sh")
            #expect(stop.status == 0, "\(stop.output)")
            #expect(stop.stderr.contains("still running after 1s; sending SIGKILL"), "\(stop.output)")
            #expect(!Processes.isAlive(pid))
            #expect(!FileManager.default.fileExists(atPath: box.pidFile("website")))
        }
    }

    @Test func standardModeStartsAllThreeAndFullModeWantsConfirmation() async throws {
        try await withFakeKraken { fake, krakenURL in
            let now = Int(Date().timeIntervalSince1970) / 60 * 60
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, (0..<30).map { FakeCandle(time: now - 1800 + $0 * 60, close: "3000\($0)") })
            try await withSandbox(extra: ["KRAKEN_API_URL": krakenURL, "TRADING_PAIRS": "BTC/USD", "CANDLE_INTERVALS": "1", "TICKER_POLL_SECONDS": "1"]) { box in
                let full = try await box.run("start-server-decoupled.sh", ["full"])
                #expect(full.status != 0)
                #expect(full.stderr.contains("--yes"))
                #expect(box.pid("website") == nil)

                let start = try await box.run("start-server-decoupled.sh", ["standard"])
                #expect(start.status == 0, "\(start.output)")
                let status = try await box.status()
                #expect(status.code == 0)
                for service in ["website", "trading-engine", "market-data"] {
                    #expect(status.services[service]?["state"] as? String == "running", "\(service)")
                }
                let health = HTTP.json(try await HTTP.get(box.healthURL).body)
                let peers = health["services"] as? [String: [String: Any]]
                #expect(peers?["market-data"]?["state"] as? String == "running")
                #expect(peers?["trading-engine"]?["state"] as? String == "running")

            // The collector really collected from the (fake) exchange, and says so on its metrics port.
            let collected = await Processes.eventually(15) {
                let rows = try? await ProcessRunner.run(
                    "/usr/bin/sqlite3", [box.databasePath, "SELECT COUNT(*) FROM candles WHERE pair = 'BTC/USD'"])
                return rows?.stdout == "30\n"
            }
            #expect(collected)
            let metrics = try await HTTP.get("http://127.0.0.1:\(box.metricsPort)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"kraken_requests_total{endpoint="OHLC",outcome="ok"}"#))
            let metricsHealth = try await HTTP.get("http://127.0.0.1:\(box.metricsPort)/health")
            #expect(metricsHealth.status == 200)
            }
        }
    }

    @Test func anOversizedLogIsRotatedOnStart() async throws {
        try await withSandbox(extra: ["LOG_MAX_MB": "1", "LOG_KEEP": "2"]) { box in
            try FileManager.default.createDirectory(atPath: box.logDir, withIntermediateDirectories: true)
            let log = "\(box.logDir)/market-data.log"
            try String(repeating: "old line\n", count: 150_000).write(toFile: log, atomically: true, encoding: .utf8)
            try "older\n".write(toFile: log + ".1", atomically: true, encoding: .utf8)
            try "oldest\n".write(toFile: log + ".2", atomically: true, encoding: .utf8)

            let start = try await box.run("services/start-market-data.sh")
            #expect(start.status == 0, "\(start.output)")
            #expect(try String(contentsOfFile: log + ".1", encoding: .utf8).hasPrefix("old line"))
            #expect(try String(contentsOfFile: log + ".2", encoding: .utf8) == "older\n")
            #expect(!FileManager.default.fileExists(atPath: log + ".3"))
            #expect(box.log("market-data").contains("market-data: starting"))
            #expect(!box.log("market-data").contains("old line"))
        }
    }

    @Test func backupCopiesTheLiveDatabaseAndKeepsTheNewest() async throws {
        try await withSandbox(extra: ["BACKUP_KEEP": "1"]) { box in
            try "KRAKEN_API_KEY=not-a-real-key\nKRAKEN_API_SECRET=c2VjcmV0\n".write(toFile: box.dir.file("no.env"), atomically: true, encoding: .utf8)
            #expect(try await box.run("services/start-trading.sh").status == 0)

            let first = try await box.run("backup.sh")
            #expect(first.status == 0, "\(first.output)")
            try await Task.sleep(for: .milliseconds(1100))
            let second = try await box.run("backup.sh")
            #expect(second.status == 0, "\(second.output)")

            let backups = try FileManager.default.contentsOfDirectory(atPath: box.dir.file("backups"))
            try #require(backups.count == 1)
            let copy = box.dir.file("backups/\(backups[0])")
            let rows = try await ProcessRunner.run(
                "/usr/bin/sqlite3", ["\(copy)/signalcartel.sqlite", "SELECT service, state FROM service_heartbeats"])
            #expect(rows.stdout == "trading-engine|running\n")
            let env = try FileManager.default.attributesOfItem(atPath: "\(copy)/.env")
            #expect((env[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test func backupOfAPostgresDatabaseIsACheckedCustomDumpAndHidesThePassword() async throws {
        try await PostgresTestDatabase.with { store, url in
            try await store.migrate()
            try await store.client.query(
                "INSERT INTO engine_state (key, value, updated_at) VALUES ('probe', 'kept', now())", logger: PostgresTestDatabase.logger)
            guard case .tcp(let host, let port) = url.endpoint else { return }
            // The test server trusts every login: the password only has to travel, encoded, unseen.
            let withPassword = "postgres://\(url.user):s3cr%2Ft@\(host):\(port)/\(url.database)"
            try await withSandbox(extra: ["DATABASE_URL": withPassword, "BACKUP_KEEP": "1"]) { box in
                let result = try await box.run("backup.sh")
                #expect(result.status == 0, "\(result.output)")
                #expect(result.output.contains("tables with data"), "\(result.output)")
                #expect(!result.output.contains("s3cr"))
                let backups = try FileManager.default.contentsOfDirectory(atPath: box.dir.file("backups"))
                try #require(backups.count == 1)
                let dump = box.dir.file("backups/\(backups[0])/signalcartel.dump")
                let list = try await ProcessRunner.run("/usr/bin/pg_restore", ["--list", dump])
                #expect(list.stdout.contains("TABLE DATA public engine_state"), "\(list.stdout)")
                // The dump restores into a new database with the row in it.
                let restored = try await ProcessRunner.run("/usr/bin/pg_restore", ["--data-only", "--table=engine_state", "--file=-", dump])
                #expect(restored.stdout.contains("probe\tkept"), "\(restored.stdout)")
            }
            let broken = "postgres://\(url.user):s3cr%2Ft@\(host):\(port)/no_such_database"
            try await withSandbox(extra: ["DATABASE_URL": broken]) { box in
                let result = try await box.run("backup.sh")
                #expect(result.status != 0)
                #expect(result.output.contains("pg_dump failed") && result.output.contains("no_such_database"), "\(result.output)")
                #expect(!result.output.contains("s3cr"))
                #expect((try? FileManager.default.contentsOfDirectory(atPath: box.dir.file("backups")))?.isEmpty ?? true)
            }
        }
    }
}
