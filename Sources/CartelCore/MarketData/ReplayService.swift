import Foundation
import Logging
import ServiceLifecycle

/// Feeds historical candles into the live pipeline (storage + ``CandleFeed``) at `speed`
/// candles per second, as if they were closing now; rehearsals and soak tests use it. Ends when
/// the file is done.
public struct ReplayService<C: TimeSource>: Service {
    let candles: [Candle]
    let speed: Double
    let sink: CandleSink
    let health: CollectorHealth
    let clock: C
    let logger: Logger

    public init(candles: [Candle], speed: Double, sink: CandleSink, health: CollectorHealth, clock: C, logger: Logger) {
        self.candles = candles
        self.speed = speed
        self.sink = sink
        self.health = health
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        logger.info("replay started", metadata: ["candles": "\(candles.count)", "speed": "\(speed)"])
        let step = Duration.seconds(1 / speed)
        let fed = try? await cancelWhenGracefulShutdown {
                var fed = 0
                var next = clock.now
                for candle in candles {
                    try await clock.sleep(until: next, tolerance: nil)
                    let closed = candle.openTime.addingTimeInterval(Double(candle.intervalMinutes * 60))
                    try await sink.ingest([candle], closedBefore: closed, now: clock.wallTime)
                    health.recordSuccess(at: clock.wallTime)
                    fed += 1
                    next = next.advanced(by: step)
                }
                return fed
        }
        logger.info("replay finished", metadata: ["candles": "\(fed.map(String.init) ?? "interrupted")"])
    }
}
