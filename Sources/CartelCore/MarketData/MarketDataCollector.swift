import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Collects Kraken tickers and OHLC candles into storage, for ever, whatever the network does.
///
/// - Pairs resolve through `AssetPairs` (cached in storage, so a restart while Kraken is down
///   still knows them). An unknown pair is reported and skipped; the others go on.
/// - Tickers: every `TICKER_POLL_SECONDS`, all pairs in one call.
/// - OHLC per pair and interval with `since` = Kraken's `last`; the first call after start
///   asks from the newest stored candle (filling the gap of any downtime) or backfills the 720
///   candles Kraken offers. Candles are upserted, so the unfinished last candle is replaced
///   until it closes (a candle is closed once a later one exists); each candle that closes while
///   the collector runs is published once to the ``CandleFeed``.
/// - Failures are recorded in `market_data_collection` and retried with backoff; the
///   collector never stops on a bad answer. 1-minute candles older than `RETENTION_DAYS` are
///   deleted hourly.
public struct MarketDataCollector<C: TimeSource>: Service {
    let configuration: MarketDataConfiguration
    let client: KrakenClient<C>
    let storage: any Storage
    let sink: CandleSink
    let health: CollectorHealth
    let clock: C
    let logger: Logger
    let metrics: any MetricsFactory
    let random: @Sendable () -> Double

    public init(
        configuration: MarketDataConfiguration, client: KrakenClient<C>, storage: any Storage, sink: CandleSink,
        health: CollectorHealth, clock: C, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.client = client
        self.storage = storage
        self.sink = sink
        self.health = health
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.random = random
    }

    struct Track {
        let pair: String
        let interval: Int
        var since: Int?
        var started = false
        var nextDue: C.Instant
        var backoff: Backoff
        var failures = 0
    }

    public func run() async throws {
        logger.info("collecting", metadata: [
            "pairs": "\(configuration.pairs.joined(separator: ","))",
            "intervals": "\(configuration.intervals.map(String.init).joined(separator: ","))",
            "ticker_poll_seconds": "\(configuration.tickerPollSeconds)",
        ])
        do {
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {}
        logger.info("collector stopped")
    }

    func loop() async throws {
        let poll = Duration.seconds(configuration.tickerPollSeconds)
        let start = clock.now
        var tracks = configuration.pairs.flatMap { pair in
            configuration.intervals.map { interval in
                Track(pair: pair, interval: interval, nextDue: start,
                      backoff: Backoff(base: poll, cap: .seconds(max(300, configuration.tickerPollSeconds))))
            }
        }
        var keys: [String: String] = [:]  // user pair -> Kraken key
        var directoryDue = start
        var directoryBackoff = Backoff(base: poll, cap: .seconds(300))
        var tickerDue = start
        var tickerBackoff = Backoff(base: poll, cap: .seconds(max(300, configuration.tickerPollSeconds)))
        var tickerFailures = 0
        var retentionDue = start

        while !Task.isCancelled {
            if keys.isEmpty, clock.now >= directoryDue {
                keys = await resolvePairs()
                directoryDue = clock.now.advanced(by: keys.isEmpty ? directoryBackoff.next(unit: random()) : .seconds(86_400))
                if !keys.isEmpty { directoryBackoff.reset() }
            }
            if !keys.isEmpty, clock.now >= tickerDue {
                if await pollTickers(keys, failures: tickerFailures) {
                    tickerFailures = 0
                    tickerBackoff.reset()
                    tickerDue = clock.now.advanced(by: poll)
                } else {
                    tickerFailures += 1
                    tickerDue = clock.now.advanced(by: tickerBackoff.next(unit: random()))
                }
            }
            for index in tracks.indices where clock.now >= tracks[index].nextDue {
                guard let key = keys[tracks[index].pair] else { continue }
                await pollCandles(&tracks[index], key: key)
            }
            if clock.now >= retentionDue {
                await applyRetention()
                retentionDue = clock.now.advanced(by: .seconds(3600))
            }
            var next = min(tickerDue, retentionDue)
            if keys.isEmpty { next = min(next, directoryDue) }
            for track in tracks where keys[track.pair] != nil { next = min(next, track.nextDue) }
            let wait = clock.now.duration(to: next)
            try await clock.sleep(for: max(wait, .milliseconds(20)))
        }
    }

    /// Maps configured pairs to Kraken keys, from a fresh `AssetPairs` or the stored copy.
    func resolvePairs() async -> [String: String] {
        var pairs: [String: KrakenAssetPair]?
        do {
            pairs = try await client.assetPairs()
            if let pairs { try await storage.saveAssetPairs(try JSONEncoder().encode(CachedPairs(pairs: pairs)), at: clock.wallTime) }
        } catch {
            logger.warning("cannot load Kraken asset pairs", metadata: ["error": "\(error)"])
            health.recordError("\(error)")
            if let data = try? await storage.cachedAssetPairs(),
                let cached = try? JSONDecoder().decode(CachedPairs.self, from: data)
            {
                logger.notice("using the stored copy of Kraken's asset pairs")
                pairs = cached.pairs
            }
        }
        guard let pairs else {
            for pair in configuration.pairs {
                try? await storage.recordCollectionError(
                    pair: pair, error: "Kraken asset pairs unavailable and none stored yet", status: "retrying")
            }
            return [:]
        }
        let directory = KrakenPairDirectory(pairs: pairs)
        var keys: [String: String] = [:]
        for pair in configuration.pairs {
            do {
                keys[pair] = try directory.resolve(pair).key
            } catch {
                logger.error("pair not collected", metadata: ["pair": "\(pair)", "error": "\(error)"])
                try? await storage.recordCollectionError(pair: pair, error: "\(error)", status: "unknown pair")
            }
        }
        return keys
    }

    /// Polls all tickers in one call; returns whether it succeeded.
    func pollTickers(_ keys: [String: String], failures: Int) async -> Bool {
        let byKey = Dictionary(keys.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        do {
            let tickers = try await client.tickers(pairKeys: Array(byKey.keys).sorted())
            let now = clock.wallTime
            for (key, ticker) in tickers {
                guard let pair = byKey[key] else { continue }
                let snapshot = TickerSnapshot(pair: pair, time: now, ticker: ticker)
                try await storage.recordTicker(snapshot)
                sink.publisher.publish(.ticker(snapshot))
            }
            health.recordSuccess(at: now)
            return true
        } catch is CancellationError {
            return false
        } catch {
            if failures % 10 == 0 {
                logger.warning("ticker poll failed", metadata: ["error": "\(error)", "failures": "\(failures + 1)"])
            }
            health.recordError("\(error)")
            for pair in keys.keys.sorted() {
                try? await storage.recordCollectionError(pair: pair, error: "\(error)", status: "retrying")
            }
            return false
        }
    }

    func pollCandles(_ track: inout Track, key: String) async {
        let interval = Duration.seconds(track.interval * 60)
        do {
            if track.since == nil, let newest = try await storage.latestCandleTime(pair: track.pair, intervalMinutes: track.interval) {
                // Resume from the newest stored candle: fills the gap since the last run.
                track.since = Int(newest.timeIntervalSince1970) - 1
            }
            let answer = try await client.ohlc(pairKey: key, intervalMinutes: track.interval, since: track.since)
            var byTime: [Int: KrakenOHLCRow] = [:]
            for row in answer.rows { byTime[row.time] = row }  // duplicated rows: the later wins
            let candles = byTime.keys.sorted().map { byTime[$0]!.candle(pair: track.pair, intervalMinutes: track.interval) }
            let now = clock.wallTime
            if let unfinished = candles.last?.openTime {
                if !track.started {
                    // History present at start is not news: publish only what closes from now on.
                    await sink.markPublished(pair: track.pair, intervalMinutes: track.interval,
                                             through: unfinished.addingTimeInterval(-1))
                }
                let published = try await sink.ingest(candles, closedBefore: unfinished, now: now)
                if published > 0 {
                    Counter(label: "marketdata_candles_published_total", dimensions: [("pair", track.pair)], factory: metrics)
                        .increment(by: published)
                }
                // Ask again just after the unfinished candle should close (at most every 5 min).
                let closesIn = unfinished.addingTimeInterval(Double(track.interval * 60) + 2).timeIntervalSince(now)
                let wait = min(max(closesIn, Double(configuration.tickerPollSeconds)), 300)
                track.nextDue = clock.now.advanced(by: .seconds(wait))
            } else {
                track.nextDue = clock.now.advanced(by: min(interval, .seconds(300)))
            }
            track.started = true
            track.since = answer.last
            track.backoff.reset()
            if track.failures > 0 {
                logger.notice("candle collection recovered", metadata: ["pair": "\(track.pair)", "interval": "\(track.interval)"])
            }
            track.failures = 0
            health.recordSuccess(at: now)
        } catch is CancellationError {
            return
        } catch {
            track.failures += 1
            let delay = track.backoff.next(unit: random())
            track.nextDue = clock.now.advanced(by: delay)
            if track.failures == 1 || track.failures % 10 == 0 {
                logger.warning("candle poll failed", metadata: [
                    "pair": "\(track.pair)", "interval": "\(track.interval)", "error": "\(error)",
                    "failures": "\(track.failures)", "retry_in": "\(delay)",
                ])
            }
            health.recordError("\(error)")
            try? await storage.recordCollectionError(pair: track.pair, error: "\(error)", status: "retrying")
        }
    }

    func applyRetention() async {
        let cutoff = clock.wallTime.addingTimeInterval(-Double(configuration.retentionDays) * 86_400)
        do {
            let deleted = try await storage.deleteCandles(intervalMinutes: 1, olderThan: cutoff)
            if deleted > 0 { logger.info("retention removed old 1-minute candles", metadata: ["count": "\(deleted)"]) }
        } catch {
            logger.warning("retention failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The stored form of Kraken's pair list.
struct CachedPairs: Codable {
    let pairs: [String: KrakenAssetPair]
}
