import Logging
import Metrics

extension RedisLink {
    /// The link `configuration` asks for (`REDIS_URL`), listening to the `events` named
    /// (`candle.closed`, …); nil without Redis.
    static func configured(
        _ configuration: ServiceConfiguration, listening events: [String] = [], logger: Logger, metrics: any MetricsFactory
    ) -> RedisLink? {
        guard let url = configuration.redis else { return nil }
        return RedisLink(url: url, source: configuration.service, channels: events.map(BusEvent.channel), logger: logger, metrics: metrics)
    }
}
