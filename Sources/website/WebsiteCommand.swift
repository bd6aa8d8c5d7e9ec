import ArgumentParser
import CartelCore

/// `website`: the dashboard and JSON API (`/api/health`) on WEBSITE_HOST:WEBSITE_PORT.
@main
struct WebsiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "website",
        abstract: "SignalCartel website: dashboard and JSON API with /api/health.",
        discussion: "Configured by environment variables (see .env.example): WEBSITE_HOST, WEBSITE_PORT, DATABASE_URL, DATABASE_POOL_SIZE, HEARTBEAT_SECONDS, WEBSITE_MAX_MEMORY_MB, LOG_LEVEL.",
        version: SignalCartelVersion.current)

    func run() async throws {
        try await ServiceMain.run(
            service: .website,
            configure: WebsiteConfiguration.init(settings:),
            serviceConfiguration: \.service,
            build: { config, database, logger in
                await WebsiteApp.buildServiceGroup(configuration: config, storage: database.provider, logger: logger)
            },
            explain: { error, config in
                ServiceMain.isAddressInUse(error)
                    ? "port \(config.port) on \(config.host) is already in use (WEBSITE_PORT)" : nil
            })
    }
}
