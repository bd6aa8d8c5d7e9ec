// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

// Release builds of the three services (built with `--static-swift-stdlib`, see
// `sc_release_build` in scripts/lib/common.sh) link with lld, pack their relative relocations
// (DT_RELR), export no symbol table, and place the functions an idle service runs next to each
// other (linker/hot-functions.order, made by linker/generate.sh). The loader and the kernel then
// map far fewer code pages: each idle service stays under 30 MB resident (27.5 MB at most here)
// (benchmarks/startup-memory.sh).
let serviceLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/linker/hot-functions.order",
            "-Xlinker", "--no-warn-symbol-ordering",
        ],
        .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "SignalCartel",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CartelCore", targets: ["CartelCore"]),
        .executable(name: "website", targets: ["website"]),
        .executable(name: "trading-engine", targets: ["trading-engine"]),
        .executable(name: "market-data", targets: ["market-data"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .target(
            name: "CartelCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "website", dependencies: ["CartelCore"], swiftSettings: swiftSettings,
            linkerSettings: serviceLinkerSettings),
        .executableTarget(
            name: "trading-engine",
            dependencies: [
                "CartelCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: serviceLinkerSettings
        ),
        .executableTarget(
            name: "market-data", dependencies: ["CartelCore"], swiftSettings: swiftSettings,
            linkerSettings: serviceLinkerSettings),
        // A helper process for the multi-process storage test: writes through SQLiteStorage.
        .executableTarget(
            name: "cartel-storage-writer",
            dependencies: ["CartelCore"],
            path: "Tests/StorageWriter",
            swiftSettings: swiftSettings
        ),
        // `swift run -c release cartel-upsert-benchmark`: storage layer vs bare sqlite3.
        .executableTarget(
            name: "cartel-upsert-benchmark",
            dependencies: ["CartelCore", .product(name: "GRDBSQLite", package: "GRDB.swift")],
            path: "benchmarks/StorageUpsert",
            swiftSettings: swiftSettings
        ),
        // `swift run -c release --static-swift-stdlib cartel-backtest-benchmark`: rsi backtest vs a bare EMA loop.
        .executableTarget(
            name: "cartel-backtest-benchmark",
            dependencies: ["CartelCore", "TestSupport"],
            path: "benchmarks/Backtest",
            swiftSettings: swiftSettings
        ),
        // `benchmarks/postgres.sh`: candle upserts vs bare PostgresNIO and COPY, engine latency on PostgreSQL.
        .executableTarget(
            name: "cartel-postgres-benchmark",
            dependencies: ["CartelCore", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "benchmarks/Postgres",
            swiftSettings: swiftSettings
        ),
        // `benchmarks/redis.sh`: PUBLISH rate vs redis-benchmark; zigzag candles for the latency run.
        .executableTarget(
            name: "cartel-redis-benchmark",
            dependencies: ["CartelCore", "TestSupport"],
            path: "benchmarks/Redis",
            swiftSettings: swiftSettings
        ),
        // `benchmarks/alert-latency.sh`: alert delivery latency, engine latency with alerts on/off.
        .executableTarget(
            name: "cartel-alert-benchmark",
            dependencies: ["CartelCore", "TestSupport"],
            path: "benchmarks/Alerts",
            swiftSettings: swiftSettings
        ),
        // Seeds a database for the website benchmark (benchmarks/website-load.sh).
        .executableTarget(
            name: "cartel-dashboard-seed",
            dependencies: ["CartelCore", "TestSupport"],
            path: "Tests/DashboardSeedTool",
            swiftSettings: swiftSettings
        ),
        // A fake Kraken for soak runs and the memory benchmark.
        .executableTarget(
            name: "fake-kraken",
            dependencies: ["TestSupport"],
            path: "Tests/FakeKrakenServer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "CartelCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CartelCoreTests",
            dependencies: [
                "CartelCore",
                "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
