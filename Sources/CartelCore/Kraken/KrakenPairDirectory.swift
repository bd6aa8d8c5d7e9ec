import Foundation
/// Maps the pairs users write (`BTC/USD`) to Kraken's pair keys (`XXBTZUSD`) and back, using the
/// `AssetPairs` answer. Kraken calls Bitcoin XBT and Dogecoin XDG, and prefixes legacy asset
/// codes with X (crypto) or Z (fiat): `XXBT`, `ZUSD`.
public struct KrakenPairDirectory: Sendable, Equatable {
    public let pairs: [String: KrakenAssetPair]

    static let krakenToCommon = ["XBT": "BTC", "XDG": "DOGE"]
    static let commonToKraken = ["BTC": "XBT", "DOGE": "XDG"]

    public init(pairs: [String: KrakenAssetPair]) {
        self.pairs = pairs
    }

    /// The common code of a Kraken asset: `XXBT` → `BTC`, `ZUSD` → `USD`, `XDG` → `DOGE`.
    public static func commonAsset(_ code: String) -> String {
        var code = code.uppercased()
        if code.count == 4, let first = code.first, first == "X" || first == "Z" {
            code.removeFirst()
        }
        return krakenToCommon[code] ?? code
    }

    /// The pair key and description for a user pair such as `BTC/USD` or `doge/eur`.
    public func resolve(_ userPair: String) throws -> (key: String, pair: KrakenAssetPair) {
        let parts = userPair.uppercased().split(separator: "/").map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw KrakenError(.fixConfiguration, "pair '\(userPair)' is not written BASE/QUOTE (for example BTC/USD)")
        }
        let (base, quote) = (parts[0], parts[1])
        let wsname = "\(Self.commonToKraken[base] ?? base)/\(Self.commonToKraken[quote] ?? quote)"
        let byName = pairs.filter { $0.value.wsname == wsname }
        let matches = byName.isEmpty
            ? pairs.filter { Self.commonAsset($0.value.base) == base && Self.commonAsset($0.value.quote) == quote }
            : byName
        // Several entries can share a name (dark-pool `.d` variants): prefer the shortest key.
        guard let match = matches.min(by: { ($0.key.count, $0.key) < ($1.key.count, $1.key) }) else {
            throw KrakenError(.fixConfiguration, "EQuery:Unknown asset pair '\(userPair)' (not offered by Kraken)")
        }
        return (match.key, match.value)
    }

    /// The user-facing name (`BTC/USD`) of a Kraken pair key, when the key is known.
    public func userName(forKey key: String) -> String? {
        guard let pair = pairs[key] else { return nil }
        return "\(Self.commonAsset(pair.base))/\(Self.commonAsset(pair.quote))"
    }
}

extension KrakenPairDirectory: InstrumentDirectory {
    /// The pair as the engine sees it: Kraken's `lot_decimals`, `pair_decimals` and `ordermin`,
    /// and the asset codes its `Balance` answer uses (`XXBT`, `ZUSD`).
    public func instrument(for pair: String) -> Instrument? {
        guard let resolved = try? resolve(pair) else { return nil }
        return Instrument(
            pair: pair, lot: LotRules(resolved.pair), baseAsset: resolved.pair.base, quoteAsset: resolved.pair.quote)
    }
}

extension LotRules {
    /// The rules Kraken states for a pair (`lot_decimals`, `pair_decimals`, `ordermin`).
    public init(_ pair: KrakenAssetPair) {
        self.init(quantityDecimals: pair.lotDecimals, priceDecimals: pair.pairDecimals, minimumQuantity: pair.ordermin ?? 0)
    }
}

/// Kraken's pairs as the collector stores them (`kraken_asset_pairs`), read again when a pair
/// is not known yet (at most once a minute): a trading engine that starts on a new database,
/// before the collector's first `AssetPairs`, learns the lot rules as soon as they are stored.
public actor StoredKrakenPairs: InstrumentDirectory {
    let storage: any Storage
    let clock: any WallClock
    var directory: KrakenPairDirectory?
    var lastRead: Date?

    public init(storage: any Storage, directory: KrakenPairDirectory? = nil, clock: any WallClock = SystemTime()) {
        self.storage = storage
        self.directory = directory
        self.clock = clock
    }

    public func instrument(for pair: String) async -> Instrument? {
        if let found = directory?.instrument(for: pair) { return found }
        let now = clock.wallTime
        if let lastRead, now.timeIntervalSince(lastRead) < 60 { return nil }
        lastRead = now
        if let data = try? await storage.cachedAssetPairs(), let cached = try? JSONDecoder().decode(CachedPairs.self, from: data) {
            directory = KrakenPairDirectory(pairs: cached.pairs)
        }
        return directory?.instrument(for: pair)
    }
}
