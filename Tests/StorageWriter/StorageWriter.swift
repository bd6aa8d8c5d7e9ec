import CartelCore
import Foundation

/// Test helper process: `cartel-storage-writer PATH WRITER_ID COUNT` upserts COUNT candles of
/// pair `W<WRITER_ID>/USD`, one transaction each, through ``SQLiteStorage``, and a heartbeat
/// every 50 writes. Exits 0 only if every write succeeded; prints the first error otherwise.
@main
struct StorageWriter {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let writer = Int(arguments[2]), let count = Int(arguments[3]) else {
            FileHandle.standardError.write(Data("usage: cartel-storage-writer PATH WRITER_ID COUNT\n".utf8))
            exit(2)
        }
        do {
            let storage = try SQLiteStorage(path: arguments[1])
            let start = Date(timeIntervalSince1970: 1_700_000_000)
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
            }
        } catch {
            FileHandle.standardError.write(Data("writer \(writer) failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
