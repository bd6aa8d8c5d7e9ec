import CartelCore
import Foundation
import TestSupport
import Testing

/// Three processes (as many as the services) write one database at the same time, on each
/// backend: nothing is lost, SQLite never reports busy, and no Kraken nonce is handed out twice.
@Suite struct MultiProcessStorageTests {
    @Test(arguments: StorageBackend.allCases)
    func concurrentWriterProcessesLoseNothingAndSeeNoBusyErrors(_ backend: StorageBackend) async throws {
        try await backend.withDatabase { url, text in
            let writers = 3
            let rowsEach = 1000
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        try await ProcessRunner.run(
                            BuildProducts.path("cartel-storage-writer"), [url, "\(writer)", "\(rowsEach)"], timeout: 300)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var nonces: [UInt64] = []
            for result in results {
                #expect(result.status == 0, "writer failed: \(result.stderr)")
                #expect(!result.stderr.contains("busy"), "\(result.stderr)")
                nonces += result.stdout.split(separator: "\n").compactMap { UInt64($0) }
            }
            #expect(nonces.count == writers * rowsEach / 10 && Set(nonces).count == nonces.count, "a nonce was handed out twice")
            for writer in 0..<writers {
                #expect(try await text("SELECT COUNT(*) FROM candles WHERE pair = 'W\(writer)/USD'") == "\(rowsEach)")
                #expect(try await text("SELECT COUNT(DISTINCT trade_count) FROM candles WHERE pair = 'W\(writer)/USD'") == "\(rowsEach)")
            }
            #expect(try await text("SELECT COUNT(*) FROM candles") == "\(writers * rowsEach)")
            #expect(try await text("SELECT MAX(close) FROM candles") == "100.999")
        }
    }
}
