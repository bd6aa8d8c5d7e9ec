import Foundation
import Logging
import ServiceLifecycle

/// The service's resident memory went over its configured budget; the process exits non-zero
/// so a supervisor restarts it before the machine starts swapping.
public struct MemoryBudgetExceeded: Error, CustomStringConvertible {
    public var residentMB: Int
    public var budgetMB: Int
    public var description: String {
        "resident memory \(residentMB) MB is over the budget of \(budgetMB) MB"
    }
}

/// Records this service's heartbeat every interval (state `running`, immediately at start) and
/// `stopped` on graceful shutdown, and enforces the resident-memory budget at every beat.
///
/// A failed heartbeat write (database locked, disk full, unreachable) is logged and retried at
/// the next beat; it never stops the service.
public struct HeartbeatService<C: TimeSource>: Service {
    let service: ServiceName
    let storage: any StorageProvider
    let identity: ProcessIdentity
    let interval: Duration
    let intervalSeconds: Int
    let memoryBudgetMB: Int
    let memoryProbe: any MemoryProbe
    let clock: C
    let detail: @Sendable () -> String?
    let logger: Logger
    let ready: AsyncStream<Void>?
    /// Announces the state changes (`running` once stored, `stopped`) as `service.state`.
    let publisher: any EventPublisher

    /// - Parameter ready: when given, the first beat waits for one element from it (the website
    ///   waits until its port is bound, so an instance that cannot bind never overwrites the
    ///   heartbeat of the instance that holds the port).
    public init(
        service: ServiceName, storage: any StorageProvider, identity: ProcessIdentity,
        intervalSeconds: Int, memoryBudgetMB: Int, memoryProbe: any MemoryProbe = ProcMemoryProbe(),
        clock: C,
        detail: @escaping @Sendable () -> String? = { nil }, ready: AsyncStream<Void>? = nil,
        publisher: any EventPublisher = NoEventPublisher(), logger: Logger
    ) {
        self.publisher = publisher
        self.ready = ready
        self.service = service
        self.storage = storage
        self.identity = identity
        self.interval = .seconds(intervalSeconds)
        self.intervalSeconds = intervalSeconds
        self.memoryBudgetMB = memoryBudgetMB
        self.memoryProbe = memoryProbe
        self.clock = clock
        self.detail = detail
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            if let ready {
                for await _ in ready { break }
            }
            var failures = 0
            var announced = false
            while !Task.isCancelled {
                try checkMemory()
                failures = await beat(.running, failures: failures, announced: announced)
                if failures == 0 { announced = true }
                do {
                    try await clock.sleep(for: interval)
                } catch {
                    return  // cancelled: graceful shutdown
                }
            }
        }
        if Task.isCancelled { return }  // the group failed: nothing ran long enough to report
        _ = await beat(.stopped, failures: 0)
        logger.info("heartbeat stopped")
    }

    func checkMemory() throws {
        guard let bytes = memoryProbe.residentBytes() else { return }
        let residentMB = Int(bytes / 1_048_576)
        if residentMB > memoryBudgetMB {
            let error = MemoryBudgetExceeded(residentMB: residentMB, budgetMB: memoryBudgetMB)
            logger.error("memory budget exceeded, exiting for a restart", metadata: [
                "resident_mb": "\(residentMB)", "budget_mb": "\(memoryBudgetMB)",
            ])
            throw error
        }
    }

    /// Writes one heartbeat (announcing `stopped`, and `running` once: `announced` false);
    /// returns the new count of consecutive failures.
    func beat(_ state: HeartbeatState, failures: Int, announced: Bool = true) async -> Int {
        let heartbeat = Heartbeat(
            service: service, pid: identity.pid, host: identity.host, version: identity.version,
            startedAt: identity.startedAt, lastBeat: clock.wallTime, state: state, detail: detail(),
            intervalSeconds: intervalSeconds, residentBytes: memoryProbe.residentBytes())
        do {
            try await storage.storage().recordHeartbeat(heartbeat)
            if state != .running || !announced { publisher.publish(.serviceState(BusEvent.ServiceStateData(heartbeat))) }
            if failures > 0 { logger.info("heartbeat recovered", metadata: ["failed_beats": "\(failures)"]) }
            return 0
        } catch is CancellationError {
            return failures + 1
        } catch {
            // Log the first failure and then every 12th, so an outage does not flood the log.
            if failures % 12 == 0 {
                logger.error("heartbeat write failed", metadata: ["error": "\(error)", "failed_beats": "\(failures + 1)"])
            }
            return failures + 1
        }
    }
}
