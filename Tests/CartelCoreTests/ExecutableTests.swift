import Foundation
import TestSupport
import Testing

/// The three binaries as processes: flags, configuration errors, signals, exit codes.
@Suite struct ExecutableTests {
    static let services = ["website", "trading-engine", "market-data"]

    func environment(_ dir: TemporaryDirectory, port: Int, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env["DATABASE_URL"] = "sqlite:\(dir.file("db.sqlite"))"
        env["WEBSITE_PORT"] = "\(port)"
        env["HEARTBEAT_SECONDS"] = "1"
        env["KRAKEN_API_URL"] = "http://127.0.0.1:1"
        env["MARKET_DATA_METRICS_PORT"] = "\((try? ListeningSocket.freePort()) ?? 9092)"
        env["TRADING_METRICS_PORT"] = "\((try? ListeningSocket.freePort()) ?? 9091)"
        return env.merging(extra) { $1 }
    }

    @Test(arguments: services)
    func versionAndHelpExitZero(_ service: String) async throws {
        let version = try await ProcessRunner.run(BuildProducts.path(service), ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0\n")
        let help = try await ProcessRunner.run(BuildProducts.path(service), ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: \(service)"))
    }

    @Test(arguments: services)
    func aBadSettingIsOneLineNamingItAndExit78(_ service: String) async throws {
        let dir = try TemporaryDirectory(prefix: "exe")
        defer { dir.remove() }
        let result = try await ProcessRunner.run(
            BuildProducts.path(service), [],
            environment: environment(dir, port: 1, ["HEARTBEAT_SECONDS": "often"]), timeout: 30)
        #expect(result.status == 78)
        #expect(result.stderr == "\(service): configuration error: HEARTBEAT_SECONDS='often' is invalid: expected a whole number from 1 to 3600\n")
    }

    /// With alerts on too, against a Telegram that accepts connections and never answers: a
    /// slow `getMe` or a message in flight must not hold the shutdown up.
    @Test(arguments: services, [false, true])
    func sigtermShutsDownGracefullyWithExitZeroWithinFiveSeconds(_ service: String, alerts: Bool) async throws {
        let dir = try TemporaryDirectory(prefix: "exe")
        defer { dir.remove() }
        let silent = try ListeningSocket()  // bound first: the free port below cannot be this one
        defer { silent.close() }
        let port = try ListeningSocket.freePort()
        let telegram = alerts
            ? ["TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "1", "TELEGRAM_API_URL": "http://127.0.0.1:\(silent.port)"] : [:]
        let child = try ChildProcess(
            BuildProducts.path(service), [], environment: environment(dir, port: port, telegram),
            stdout: dir.file("out.log"), stderr: dir.file("err.log"))
        let started = await Processes.eventually(20) {
            let log = (try? String(contentsOfFile: dir.file("out.log"), encoding: .utf8)) ?? ""
            let rows = try? await ProcessRunner.run(
                "/usr/bin/sqlite3", [dir.file("db.sqlite"), "SELECT state FROM service_heartbeats WHERE service = '\(service)'"])
            return rows?.stdout == "running\n" && (service != "website" || log.contains("listening"))
        }
        #expect(started)
        let sent = Date()
        kill(child.pid, SIGTERM)
        let status = await child.wait(timeout: 10)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(sent) < 5)
        let state = try await ProcessRunner.run(
            "/usr/bin/sqlite3", [dir.file("db.sqlite"), "SELECT state FROM service_heartbeats WHERE service = '\(service)'"])
        #expect(state.stdout == "stopped\n")
    }

    @Test func theWebsiteOnABusyPortSaysSoAndExitsNonZero() async throws {
        let dir = try TemporaryDirectory(prefix: "exe")
        defer { dir.remove() }
        let holder = try ListeningSocket()
        defer { holder.close() }
        let result = try await ProcessRunner.run(
            BuildProducts.path("website"), [], environment: environment(dir, port: holder.port), timeout: 30)
        #expect(result.status == 1)
        #expect(result.stderr == "website: port \(holder.port) on 127.0.0.1 is already in use (WEBSITE_PORT)\n")
    }
}
