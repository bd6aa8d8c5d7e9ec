import CartelCore
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import TestSupport
import Testing

@Suite struct HeartbeatServiceTests {
    struct FixedProbe: MemoryProbe {
        let bytes: UInt64
        func residentBytes() -> UInt64? { bytes }
    }

    func service(
        _ storage: any Storage, budgetMB: Int = 1024, probe: UInt64 = 10 << 20
    ) -> HeartbeatService<SystemTime> {
        HeartbeatService(
            service: .marketData, storage: OpenStorage(storage),
            identity: ProcessIdentity(pid: 321, host: "h", version: "v", startedAt: Date()),
            intervalSeconds: 1, memoryBudgetMB: budgetMB, memoryProbe: FixedProbe(bytes: probe),
            clock: SystemTime(), logger: Logger(label: "test"))
    }

    @Test func beatsRunningAtStartAndStoppedOnGracefulShutdown() async throws {
        let dir = try TemporaryDirectory(prefix: "beat")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let heartbeat = service(storage)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await heartbeat.run() }
                var seen: Heartbeat?
                for _ in 0..<200 where seen == nil {
                    seen = try await storage.heartbeats().first
                    if seen == nil { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(seen?.state == .running)
                #expect(seen?.pid == 321)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(try await storage.heartbeats().first?.state == .stopped)
    }

    @Test func exceedingTheMemoryBudgetStopsTheServiceWithAnError() async throws {
        let dir = try TemporaryDirectory(prefix: "beat")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let error = await #expect(throws: MemoryBudgetExceeded.self) {
            try await service(storage, budgetMB: 64, probe: 100 << 20).run()
        }
        #expect(error?.residentMB == 100)
        #expect(error?.budgetMB == 64)
    }

    @Test func theLiveProbeReadsThisProcess() throws {
        let bytes = try #require(ProcMemoryProbe().residentBytes())
        #expect(bytes > 1 << 20)
        #expect(bytes < 8 << 30)
    }
}
