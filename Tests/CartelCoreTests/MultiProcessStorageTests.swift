import CartelCore
import Foundation
import TestSupport
import Testing

/// Three processes (as many as the services) write one SQLite file at the same time.
@Suite struct MultiProcessStorageTests {
    @Test func concurrentWriterProcessesLoseNothingAndSeeNoBusyErrors() async throws {
        let dir = try TemporaryDirectory(prefix: "multiwriter")
        defer { dir.remove() }
        let path = dir.file("shared.sqlite")
        let writers = 3
        let rowsEach = 1000
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    try await ProcessRunner.run(
                        BuildProducts.path("cartel-storage-writer"), [path, "\(writer)", "\(rowsEach)"],
                        timeout: 300)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for result in results {
            #expect(result.status == 0, "writer failed: \(result.stderr)")
            #expect(!result.stderr.contains("busy"), "\(result.stderr)")
        }
        let storage = try SQLiteStorage(path: path)
        for writer in 0..<writers {
            let candles = try await storage.candles(pair: "W\(writer)/USD", intervalMinutes: 1)
            #expect(candles.count == rowsEach)
            #expect(Set(candles.map(\.tradeCount)) == Set(0..<rowsEach))
        }
        let total = try await storage.query("SELECT COUNT(*) FROM candles")
        #expect(total == [["\(writers * rowsEach)"]])
    }
}
