import CartelCore
import Foundation
import Logging

/// Test helper process: `cartel-storage-writer DATABASE_URL WRITER_ID COUNT` upserts COUNT
/// candles of pair `W<WRITER_ID>/USD`, one transaction each, a heartbeat every 50 writes and a
/// Kraken nonce every 10 (printed, one per line), through the services' storage of either
/// backend. Exits 0 only if every write succeeded; prints the first error otherwise.
@main
struct StorageWriter {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let writer = Int(arguments[2]), let count = Int(arguments[3]) else {
            FileHandle.standardError.write(Data("usage: cartel-storage-writer DATABASE_URL WRITER_ID COUNT\n".utf8))
            exit(2)
        }
        do {
            let location = try DatabaseLocation.parse(arguments[1])
            let nonces = try await DatabaseAccess.using(location, poolSize: 2, logger: Logger(label: "writer")) { database in
                try await write(storage: try await database.open(), writer: writer, count: count)
            }
            print(nonces.map(String.init).joined(separator: "\n"))
        } catch {
            FileHandle.standardError.write(Data("writer \(writer) failed: \(error)\n".utf8))
            exit(1)
        }
    }

    static func write(storage: any ServiceStorage, writer: Int, count: Int) async throws -> [UInt64] {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        var nonces: [UInt64] = []
        for index in 0..<count {
            let price = Decimal(string: "100.\(index)")!
            try await storage.upsertCandles([Candle(
                pair: "W\(writer)/USD", intervalMinutes: 1,
                openTime: start.addingTimeInterval(Double(index * 60)),
                open: price, high: price, low: price, close: price, vwap: price,
                volume: Decimal(string: "0.00000001")!, tradeCount: index)])
            if index % 50 == 0 {
                try await storage.recordHeartbeat(Heartbeat(
                    service: .marketData, pid: ProcessInfo.processInfo.processIdentifier, host: "test",
                    version: "test", startedAt: start, lastBeat: Date(), state: .running, intervalSeconds: 5))
            }
            if index % 10 == 0 { nonces.append(try await storage.reserveNonce(atLeast: 1)) }
        }
        return nonces
    }
}
