import Synchronization

/// Fans newly closed candles out to in-process subscribers (the trading engine in minimal
/// mode). Each subscriber gets its own bounded buffer; a subscriber that falls more than
/// `bufferSize` candles behind loses the oldest ones rather than growing memory.
public final class CandleFeed: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<Candle>.Continuation]>([:])
    private let nextID = Mutex(0)
    let bufferSize: Int

    public init(bufferSize: Int = 10_000) {
        self.bufferSize = bufferSize
    }

    /// A stream of every candle published from now on; ends when the subscriber stops iterating.
    public func subscribe() -> AsyncStream<Candle> {
        let id = nextID.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream<Candle>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    public func publish(_ candle: Candle) {
        let targets = subscribers.withLock { Array($0.values) }
        for continuation in targets { continuation.yield(candle) }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }
}
