import CartelCore
import Foundation
import Logging
import PostgresNIO
import TestSupport

/// `cartel-postgres-benchmark DATABASE_URL [COUNT] [BATCH]` (a fresh database, as
/// `benchmarks/postgres.sh` makes): upserts COUNT candles (default 100,000) in transactions of
/// BATCH (default 720) through our storage layer (`PostgresStore.upsertCandles`), and in the same
/// run through a bare PostgresNIO loop of the same named prepared statement, then loads them
/// with `COPY`; each first as new rows, then (not COPY) replacing them. Then times the engine from
/// a closed candle to the paper order stored on the same server, next to a bare one-row write.
@main
struct PostgresBenchmark {
    static let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, case .postgres(let url) = try DatabaseLocation.parse(arguments[1]) else {
            FileHandle.standardError.write(Data("usage: cartel-postgres-benchmark postgres://… [COUNT] [BATCH]\n".utf8))
            exit(2)
        }
        let count = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
        let batch = arguments.count > 3 ? Int(arguments[3]) ?? 720 : 720
        print("machine: \(Machine.description)")
        print("server: \(url.redacted)")
        let store = try PostgresStore(url: url, poolSize: 2, logger: logger)
        let bare = PostgresClient(configuration: try configuration(url), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            group.addTask { await bare.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            try await upserts(store: store, bare: bare, count: count, batch: batch)
            let latency = try await EngineLatency.measure(storage: store)
            print(latency.report(goalMilliseconds: 15))
        }
    }

    static func configuration(_ url: PostgresURL) throws -> PostgresClient.Configuration {
        guard case .tcp(let host, let port) = url.endpoint else { throw CancellationError() }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: url.user, password: url.password, database: url.database, tls: .disable)
        configuration.options.maximumConnections = 2
        return configuration
    }

    /// The candles of one pair: a zigzag, one per minute.
    static func candles(_ pair: String, count: Int, shift: Decimal) -> [Candle] {
        ZigzagCandles.make(count: count, start: Date(timeIntervalSince1970: 1_700_000_000)).map { candle in
            var moved = candle
            moved.pair = pair
            moved.close += shift
            return moved
        }
    }

    static func upserts(store: PostgresStore, bare: PostgresClient, count: Int, batch: Int) async throws {
        let clock = ContinuousClock()
        func rate(_ duration: Duration) -> Double { Double(count) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) }
        func ours(_ candles: [Candle]) async throws -> Double {
            rate(try await clock.measure {
                for start in stride(from: 0, to: candles.count, by: batch) {
                    let piece = Array(candles[start..<min(start + batch, candles.count)])
                    try await store.upsertCandles(piece, closedBefore: piece.last?.openTime, at: Date())
                }
            })
        }
        func bareLoop(_ candles: [Candle]) async throws -> Double {
            rate(try await clock.measure {
                for start in stride(from: 0, to: candles.count, by: batch) {
                    let piece = Array(candles[start..<min(start + batch, candles.count)])
                    try await bare.withTransaction(logger: logger) { connection in
                        for candle in piece { _ = try await connection.execute(UpsertCandle(candle: candle), logger: logger) }
                    }
                }
            })
        }
        func copy(_ candles: [Candle]) async throws -> Double {
            rate(try await clock.measure {
                try await bare.withConnection { connection in
                    try await connection.copyFrom(
                        table: "candles",
                        columns: ["pair", "interval_minutes", "open_time", "open", "high", "low", "close", "vwap", "volume", "trade_count", "updated_at", "closed"],
                        logger: logger
                    ) { writer in
                        let formatter = ISO8601DateFormatter()
                        var text = ""
                        for candle in candles {
                            let time = formatter.string(from: candle.openTime)
                            text += "\(candle.pair)\t1\t\(time)\t\(candle.open)\t\(candle.high)\t\(candle.low)\t\(candle.close)\t\(candle.vwap)\t\(candle.volume)\t\(candle.tradeCount)\t\(time)\t1\n"
                            if text.utf8.count > 1 << 20 {
                                try await writer.write(ByteBuffer(string: text))
                                text = ""
                            }
                        }
                        if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                    }
                }
            })
        }
        print("candle upserts, \(count) candles in transactions of \(batch) (rows/s, higher is better):")
        // Warm both paths up (connections, statement caches), then measure on fresh pairs.
        _ = try await ours(Array(candles("WARM/A", count: 2 * batch, shift: 0)))
        _ = try await bareLoop(Array(candles("WARM/B", count: 2 * batch, shift: 0)))
        let oursInsert = try await ours(candles("OURS/USD", count: count, shift: 0))
        let bareInsert = try await bareLoop(candles("BARE/USD", count: count, shift: 0))
        let oursReplace = try await ours(candles("OURS/USD", count: count, shift: 1))
        let bareReplace = try await bareLoop(candles("BARE/USD", count: count, shift: 1))
        let copied = try await copy(candles("COPY/USD", count: count, shift: 0))
        func line(_ name: String, _ ours: Double, _ bare: Double) {
            print(String(
                format: "  %@: ours %.0f, bare PostgresNIO prepared statement %.0f, ratio %.2f (goal >= 0.50: %@)", name, ours, bare, ours / bare,
                ours / bare >= 0.5 ? "met" : "NOT met"))
        }
        line("insert ", oursInsert, bareInsert)
        line("replace", oursReplace, bareReplace)
        print(String(format: "  COPY (new rows, no conflict handling): %.0f; ours is %.2f of it", copied, oursInsert / copied))
    }
}

/// The candle upsert as a named prepared statement (what our layer sends, without the event row).
struct UpsertCandle: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO candles (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at, closed)
        VALUES ($1, $2, $3, $4::NUMERIC, $5::NUMERIC, $6::NUMERIC, $7::NUMERIC, $8::NUMERIC, $9::NUMERIC, $10, $11, 1)
        ON CONFLICT (pair, interval_minutes, open_time) DO UPDATE SET
            open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, vwap = excluded.vwap,
            volume = excluded.volume, trade_count = excluded.trade_count, updated_at = excluded.updated_at,
            closed = GREATEST(candles.closed, excluded.closed)
        """
    typealias Row = Void

    var candle: Candle

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(candle.pair)
        bindings.append(candle.intervalMinutes)
        bindings.append(candle.openTime)
        for value in [candle.open, candle.high, candle.low, candle.close, candle.vwap, candle.volume] { bindings.append("\(value)") }
        bindings.append(candle.tradeCount)
        bindings.append(Date())
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}
