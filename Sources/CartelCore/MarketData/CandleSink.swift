import Foundation
import Logging
import Metrics

/// Where candles go, live or replayed: stored (upsert), newly closed ones published once, and
/// the pair's collection status refreshed.
public actor CandleSink {
    let storage: any Storage
    let feed: CandleFeed
    let metrics: any MetricsFactory
    /// Announces each newly closed candle once stored (`candle.closed`).
    let publisher: any EventPublisher
    /// Open time of the newest candle published, per pair and interval.
    var published: [String: Date] = [:]

    public init(
        storage: any Storage, feed: CandleFeed, metrics: any MetricsFactory = MetricsSystem.factory, publisher: any EventPublisher = NoEventPublisher()
    ) {
        self.publisher = publisher
        self.storage = storage
        self.feed = feed
        self.metrics = metrics
    }

    /// Stores `candles` (oldest first) of one pair and interval. Candles strictly before
    /// `closedBefore` are closed; those not yet published are published in order, once.
    /// Returns the number of newly published candles.
    @discardableResult
    public func ingest(_ candles: [Candle], closedBefore: Date, now: Date) async throws -> Int {
        guard let first = candles.first else { return 0 }
        try await storage.upsertCandles(candles, closedBefore: closedBefore, at: now)
        let series = [("pair", first.pair), ("interval", "\(first.intervalMinutes)")]
        Counter(label: "candles_stored_total", dimensions: series, factory: metrics).increment(by: candles.count)
        // For the "no candle stored for 3 intervals" alert (deploy/prometheus/rules.yml).
        Gauge(label: "marketdata_last_candle_stored_timestamp_seconds", dimensions: series, factory: metrics)
            .record(now.timeIntervalSince1970)
        Gauge(label: "marketdata_candle_interval_seconds", dimensions: series, factory: metrics).record(Double(first.intervalMinutes * 60))
        try await storage.recordCollectionSuccess(pair: first.pair, at: now)
        let key = "\(first.pair)|\(first.intervalMinutes)"
        let last = published[key] ?? .distantPast
        let fresh = candles.filter { $0.openTime > last && $0.openTime < closedBefore }
        for candle in fresh {
            feed.publish(candle)
            publisher.publish(.candleClosed(candle))
        }
        if let newest = fresh.last?.openTime { published[key] = newest }
        return fresh.count
    }

    /// Marks everything up to `time` as already published (history loaded at start is not news).
    public func markPublished(pair: String, intervalMinutes: Int, through time: Date) {
        let key = "\(pair)|\(intervalMinutes)"
        published[key] = max(published[key] ?? .distantPast, time)
    }
}
