import Logging
import ServiceLifecycle

/// The loop of a periodic `Service`: `work` every `period` until the task is cancelled or the
/// service group shuts down gracefully (which ends it quietly). A round that fails is logged with
/// `failure` and the next one runs anyway.
public func repeatUntilShutdown<C: TimeSource>(
    every period: Duration, clock: C, logger: Logger, failure: String, _ work: @escaping @Sendable () async throws -> Void
) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await work()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("\(failure)", metadata: ["error": "\(error)"])
                }
                try await clock.sleep(for: period)
            }
        }
    } catch is CancellationError {}
}
