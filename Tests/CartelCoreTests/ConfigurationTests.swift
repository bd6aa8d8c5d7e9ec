import CartelCore
import Logging
import Testing

@Suite struct ConfigurationTests {
    @Test func defaultsApplyWhenNothingIsSet() throws {
        let config = try WebsiteConfiguration(settings: .values([:]))
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 3001)
        #expect(config.service.database == .sqlite(path: "data/signalcartel.sqlite"))
        #expect(config.service.heartbeatSeconds == 5)
        #expect(config.service.memoryBudgetMB == 1024)
        #expect(config.service.logLevel == .info)
        #expect(try ServiceConfiguration(service: .tradingEngine, settings: .values([:])).memoryBudgetMB == 2048)
        #expect(try ServiceConfiguration(service: .marketData, settings: .values([:])).memoryBudgetMB == 1024)
    }

    @Test func environmentValuesOverrideDefaults() throws {
        let config = try WebsiteConfiguration(settings: .values([
            "WEBSITE_HOST": "0.0.0.0", "WEBSITE_PORT": "8080", "DATABASE_URL": "sqlite:///var/lib/sc/db.sqlite",
            "HEARTBEAT_SECONDS": "2", "WEBSITE_MAX_MEMORY_MB": "64", "LOG_LEVEL": "DEBUG", "DASHBOARD_PASSWORD": "correct horse battery",
        ]))
        #expect(config.host == "0.0.0.0")
        #expect(config.password == "correct horse battery" && config.allowsChanges)
        #expect(!"\(config)".contains("horse"))
        #expect(config.port == 8080)
        #expect(config.service.database == .sqlite(path: "/var/lib/sc/db.sqlite"))
        #expect(config.service.heartbeatSeconds == 2)
        #expect(config.service.memoryBudgetMB == 64)
        #expect(config.service.logLevel == .debug)
    }

    @Test func eachServiceReadsItsOwnMemoryBudget() throws {
        let settings = Settings.values(["TRADING_MAX_MEMORY_MB": "300", "MARKET_DATA_MAX_MEMORY_MB": "200"])
        #expect(try ServiceConfiguration(service: .tradingEngine, settings: settings).memoryBudgetMB == 300)
        #expect(try ServiceConfiguration(service: .marketData, settings: settings).memoryBudgetMB == 200)
        #expect(try ServiceConfiguration(service: .website, settings: settings).memoryBudgetMB == 1024)
    }

    @Test(arguments: ["abc", "0", "65536", "-1", "80.5"])
    func invalidPortIsRejectedNamingTheVariable(_ value: String) {
        #expect(throws: ConfigurationError(
            key: "WEBSITE_PORT", value: value, expected: "a whole number from 1 to 65535")
        ) {
            try WebsiteConfiguration(settings: .values(["WEBSITE_PORT": value]))
        }
    }

    @Test func invalidHeartbeatIsRejected() {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: .marketData, settings: .values(["HEARTBEAT_SECONDS": "0"]))
        }
        #expect(error?.key == "HEARTBEAT_SECONDS")
        #expect(error?.description.contains("HEARTBEAT_SECONDS='0'") == true)
    }

    @Test func unknownLogLevelIsRejected() {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: .website, settings: .values(["LOG_LEVEL": "loud"]))
        }
        #expect(error?.key == "LOG_LEVEL")
        #expect(error?.expected.contains("debug") == true)
    }

    @Test func aPostgresURLSelectsPostgresAndItsPasswordStaysOutOfDescriptions() throws {
        let config = try ServiceConfiguration(
            service: .website, settings: .values(["DATABASE_URL": "postgres://trader:hunter2@db/cartel", "DATABASE_POOL_SIZE": "3"]))
        guard case .postgres(let url) = config.database else {
            Issue.record("not PostgreSQL: \(config.database)")
            return
        }
        #expect(url.password == "hunter2" && config.databasePoolSize == 3)
        #expect("\(config.database)" == "postgres://trader:***@db:5432/cartel")
        #expect(!"\(config)".contains("hunter2"))
        #expect(try ServiceConfiguration(service: .marketData, settings: .values([:])).databasePoolSize == 2)
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: .website, settings: .values(["DATABASE_URL": "mysql://trader:hunter2@db/cartel"]))
        }
        #expect(error?.key == "DATABASE_URL")
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("trader:***@db") == true)
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration(service: .website, settings: .values(["DATABASE_POOL_SIZE": "0"])) }
    }

    @Test func redisIsOptionalAndItsPasswordStaysOutOfDescriptions() throws {
        #expect(try ServiceConfiguration(service: .website, settings: .values([:])).redis == nil)
        #expect(try ServiceConfiguration(service: .website, settings: .values(["REDIS_URL": ""])).redis == nil)
        let config = try ServiceConfiguration(
            service: .tradingEngine, settings: .values(["REDIS_URL": "redis://:hunter2@cache:6380/1", "REDIS_CATCHUP_MS": "750"]))
        #expect(config.redis == RedisURL(endpoint: .tcp(host: "cache", port: 6380), password: "hunter2", database: 1))
        #expect(config.redisCatchUp == .milliseconds(750))
        #expect(!"\(config)".contains("hunter2"))
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: .website, settings: .values(["REDIS_URL": "redis://:hunter2@cache:notaport/0"]))
        }
        #expect(error?.key == "REDIS_URL")
        #expect(error?.description.contains("hunter2") == false)
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration(service: .website, settings: .values(["REDIS_CATCHUP_MS": "5"])) }
    }

    @Test(arguments: ["sqlite:", "sqlite://", "sqlite:data/", "mysql://x", "data.sqlite"])
    func malformedDatabaseURLIsRejected(_ url: String) {
        #expect(throws: ConfigurationError.self) { try DatabaseLocation.parse(url) }
    }

    @Test func relativeSQLitePathResolvesAgainstTheBase() throws {
        let location = try DatabaseLocation.parse("sqlite:data/x.sqlite")
        #expect(location.sqlitePath(relativeTo: "/srv/cartel") == "/srv/cartel/data/x.sqlite")
        #expect(try DatabaseLocation.parse("sqlite:/abs/y.sqlite").sqlitePath(relativeTo: "/srv") == "/abs/y.sqlite")
    }

    @Test func blankValuesTakeTheDefault() throws {
        let config = try WebsiteConfiguration(settings: .values(["WEBSITE_PORT": "  ", "WEBSITE_HOST": ""]))
        #expect(config.port == 3001)
        #expect(config.host == "127.0.0.1")
    }
}
