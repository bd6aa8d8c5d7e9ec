import Foundation

/// An isolated installation for running the operations scripts end to end: its own PID dir,
/// log dir, database, backup dir and a free website port, using the built debug binaries.
public struct ScriptSandbox: Sendable {
    public let dir: TemporaryDirectory
    public let port: Int
    public let metricsPort: Int
    public let tradingMetricsPort: Int
    public var extra: [String: String] = [:]

    public init() throws {
        dir = try TemporaryDirectory(prefix: "scripts")
        port = try ListeningSocket.freePort()
        metricsPort = try ListeningSocket.freePort()
        tradingMetricsPort = try ListeningSocket.freePort()
    }

    public var pidDir: String { dir.file("pids") }
    public var logDir: String { dir.file("logs") }
    public var databasePath: String { dir.file("db/signalcartel.sqlite") }

    public var environment: [String: String] {
        var env: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] {
            if let value = ProcessInfo.processInfo.environment[key] { env[key] = value }
        }
        env["SIGNALCARTEL_ENV_FILE"] = dir.file("no.env")
        env["SIGNALCARTEL_PID_DIR"] = pidDir
        env["SIGNALCARTEL_LOG_DIR"] = logDir
        env["SIGNALCARTEL_BIN_DIR"] = BuildProducts.directory
        env["DATABASE_URL"] = "sqlite:\(databasePath)"
        env["BACKUP_DIR"] = dir.file("backups")
        env["WEBSITE_PORT"] = "\(port)"
        env["MARKET_DATA_METRICS_PORT"] = "\(metricsPort)"
        env["TRADING_METRICS_PORT"] = "\(tradingMetricsPort)"
        // Never the real exchange from tests: nothing listens on port 1.
        env["KRAKEN_API_URL"] = "http://127.0.0.1:1"
        env["HEARTBEAT_SECONDS"] = "1"
        env["START_TIMEOUT"] = "20"
        env["NO_COLOR"] = "1"
        env.merge(extra) { $1 }
        return env
    }

    /// Runs `scripts/<relative>` with this sandbox's environment.
    public func run(_ relative: String, _ arguments: [String] = []) async throws -> ProcessResult {
        try await ProcessRunner.run(
            "/bin/bash", ["\(BuildProducts.repositoryRoot)/scripts/\(relative)"] + arguments,
            environment: environment, timeout: 90)
    }

    public func pidFile(_ service: String) -> String {
        "\(pidDir)/signalcartel-\(service == "trading-engine" ? "trading" : service).pid"
    }

    public func pid(_ service: String) -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile(service), encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public func log(_ service: String) -> String {
        (try? String(contentsOfFile: "\(logDir)/\(service).log", encoding: .utf8)) ?? ""
    }

    public var healthURL: String { "http://127.0.0.1:\(port)/api/health" }

    /// `status.sh --json` parsed into one dictionary per service, keyed by service name.
    public func status() async throws -> (code: Int32, services: [String: [String: Any]]) {
        let result = try await run("services/status.sh", ["--json"])
        let rows = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
        var services: [String: [String: Any]] = [:]
        for row in rows { if let name = row["service"] as? String { services[name] = row } }
        return (result.status, services)
    }

    /// Stops whatever is still running and removes the sandbox.
    public func tearDown() async {
        _ = try? await run("stop-server.sh")
        dir.remove()
    }
}

/// Process helpers for the script tests.
public enum Processes {
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return !stat[close...].dropFirst(2).hasPrefix("Z")
    }

    public static func executable(of pid: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
    }

    /// Waits up to `seconds` for `condition`.
    public static func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
