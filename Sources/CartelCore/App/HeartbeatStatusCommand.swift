import ArgumentParser
import Foundation

/// Options of the `status` subcommand of `trading-engine` and `market-data`: report a service's
/// heartbeat as stored in the database. The scripts use it to wait for a fresh heartbeat.
///
/// Exit codes follow LSB: 0 running (and, with `--pid`, written by that process), 1 stale or
/// written by another process, 3 stopped or never seen, 4 database unreachable.
public struct HeartbeatStatusOptions: ParsableArguments {
    @Option(help: "Succeed only if the heartbeat was written by this process id.")
    public var pid: Int32?

    @Option(help: "Succeed only if the heartbeat was written at or after this Unix time (seconds).")
    public var since: Double?

    public init() {}

    public func run(service: ServiceName, settings: Settings = .environment()) async throws {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: service, settings: settings)
        } catch let error as ConfigurationError {
            ServiceMain.printError("\(service): \(error)")
            throw ExitCode(ServiceMain.configurationExitCode)
        }
        let (line, code) = await report(service: service, location: configuration.database, now: Date())
        print(line)
        if code != 0 { throw ExitCode(code) }
    }

    func report(service: ServiceName, location: DatabaseLocation, now: Date) async -> (String, Int32) {
        if let path = location.sqlitePath(), !FileManager.default.fileExists(atPath: path) {
            return ("\(service) unknown: database \(path) does not exist", 3)
        }
        let rows: [Heartbeat]
        do {
            rows = try await DatabaseAccess.using(location, poolSize: 1, logger: DatabaseCommands.logger) { try await $0.open().heartbeats() }
        } catch {
            return ("\(service) unknown: database unreachable: \(error)", 4)
        }
        guard let row = rows.first(where: { $0.service == service }) else {
            return ("\(service) unknown: no heartbeat recorded", 3)
        }
        let age = String(format: "%.1f", now.timeIntervalSince(row.lastBeat))
        let state = PeerState.evaluate(row, now: now)
        let line = "\(service) \(state.rawValue) pid=\(row.pid) age=\(age)s version=\(row.version) host=\(row.host)"
        if let pid, row.pid != pid { return (line + " (expected pid \(pid))", 1) }
        if let since, row.lastBeat.timeIntervalSince1970 < since { return (line + " (older than requested)", 1) }
        switch state {
        case .running: return (line, 0)
        case .stale: return (line, 1)
        case .stopped, .unknown: return (line, 3)
        }
    }
}
