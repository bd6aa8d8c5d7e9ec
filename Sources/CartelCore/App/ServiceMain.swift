import ArgumentParser
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The shared body of every executable's `run`: read the configuration once, bootstrap logging,
/// open the database (for PostgreSQL its connection pool runs beside the group), run the service group until SIGTERM/SIGINT, and turn failures into one clear
/// line and a non-zero exit.
///
/// Exit codes: 0 after a graceful shutdown, 78 (`EX_CONFIG`) for a bad setting, 1 for any
/// runtime failure (database unusable, port in use, memory budget exceeded).
public enum ServiceMain {
    public static let configurationExitCode: Int32 = 78

    public static func run<Config: Sendable>(
        service: ServiceName,
        settings: Settings = .environment(),
        configure: (Settings) throws -> Config,
        serviceConfiguration: (Config) -> ServiceConfiguration,
        build: @Sendable (Config, DatabaseAccess, Logger) async throws -> ServiceGroup,
        explain: (any Error, Config) -> String? = { _, _ in nil }
    ) async throws {
        let config: Config
        do {
            config = try configure(settings)
        } catch let error as ConfigurationError {
            printError("\(service): \(error)")
            throw ExitCode(configurationExitCode)
        }
        let common = serviceConfiguration(config)
        LineLogHandler.bootstrap(service: service.rawValue, level: common.logLevel)
        let logger = Logger(label: service.rawValue)
        logger.info("starting", metadata: [
            "version": "\(SignalCartelVersion.current)", "pid": "\(ProcessInfo.processInfo.processIdentifier)",
            "database": "\(common.database)",
        ])
        do {
            try await DatabaseAccess.using(common.database, poolSize: common.databasePoolSize, logger: logger) { database in
                let group = try await build(config, database, logger)
                try await group.run()
            }
            logger.info("stopped")
        } catch {
            let message = explain(error, config) ?? "\(error)"
            logger.critical("exiting after a fatal error", metadata: ["error": "\(message)"])
            printError("\(service): \(message)")
            throw ExitCode(1)
        }
    }

    /// Whether `error` (or a `ServiceGroup` wrapper around it) is "address already in use".
    public static func isAddressInUse(_ error: any Error) -> Bool {
        if let io = error as? IOError, io.errnoCode == EADDRINUSE { return true }
        return "\(error)".contains("Address already in use")
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
