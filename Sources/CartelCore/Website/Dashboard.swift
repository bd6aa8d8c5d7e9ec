import Foundation

/// What the platform is doing, read from the database the services write: one place that the
/// JSON API, the pages and the Telegram commands all ask, so a figure on a page is the figure the
/// API returns and the bot answers.
public struct Dashboard: Sendable {
    public let provider: any StorageProvider
    /// The configured trading settings (mode and starting balance until the engine records its own).
    public let trading: TradingConfiguration
    public let identity: ProcessIdentity
    let clock: any WallClock
    let cache = FigureCache()
    /// Announces pause changes once stored.
    let publisher: any EventPublisher
    /// Latest tickers and the status summary shared between processes (Redis), when configured.
    let shared: (any SharedCache)?

    public init(
        provider: any StorageProvider, trading: TradingConfiguration, identity: ProcessIdentity, clock: any WallClock = SystemTime(),
        publisher: any EventPublisher = NoEventPublisher(), shared: (any SharedCache)? = nil
    ) {
        self.publisher = publisher
        self.shared = shared
        self.provider = provider
        self.trading = trading
        self.identity = identity
        self.clock = clock
    }

    /// The database, reconnected on demand (a page answers 503 while it is unreachable).
    public var storage: any DashboardStorage {
        get async throws {
            guard let storage = try await provider.storage() as? any DashboardStorage else {
                throw StorageError(.unavailable, "this storage backend does not keep the dashboard's tables")
            }
            return storage
        }
    }

    /// The ledger shown: the mode the engine last ran in, else the configured one.
    public func mode() async throws -> TradingMode {
        if let text = try await storage.engineState("trading_mode"), let mode = TradingMode(rawValue: text) { return mode }
        return trading.mode
    }

    // MARK: - Status and markets

    /// The status summary: from the shared cache (Redis) when a process computed it in the last
    /// ``statusCacheSeconds``, else from the database (and then cached).
    public func status() async throws -> StatusDTO {
        guard let shared else { return try await computeStatus() }
        if let bytes = await shared.cached(Self.statusCacheKey), let cached = try? Self.cacheDecoder.decode(StatusDTO.self, from: Data(bytes)) {
            return cached
        }
        let status = try await computeStatus()
        if let data = try? Self.cacheEncoder.encode(status) {
            shared.cache(Self.statusCacheKey, String(decoding: data, as: UTF8.self), ttlSeconds: Self.statusCacheSeconds)
        }
        return status
    }

    public static let statusCacheKey = "signalcartel:cache:status"
    public static let statusCacheSeconds = 2

    static let cacheEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime.iso8601(date, fractional: true))
        }
        return encoder
    }()

    static let cacheDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = UTCTime.parseISO8601(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 time"))
            }
            return date
        }
        return decoder
    }()

    /// A pair's latest ticker: the shared cache's (written by the collector with each ticker
    /// it stores), else the database's.
    public func latestTicker(pair: String) async throws -> TickerSnapshot? {
        if let shared, let bytes = await shared.cached(BusEvent.tickerCacheKey(pair)), let ticker = CachedTicker.decode(bytes)?.snapshot {
            return ticker
        }
        return try await storage.latestTicker(pair: pair)
    }

    func computeStatus() async throws -> StatusDTO {
        let now = clock.wallTime
        let beats = try await storage.heartbeats()
        let pause = try await storage.pauseState()
        let services = ServiceName.allCases.map { name -> ServiceStatusDTO in
            let beat = beats.first { $0.service == name }
            let state = name == .website && beat?.pid == identity.pid ? .running : PeerState.evaluate(beat, now: now)
            return ServiceStatusDTO(
                name: name.rawValue, state: state.rawValue, pid: beat?.pid, host: beat?.host, version: beat?.version,
                startedAt: beat?.startedAt,
                uptimeSeconds: state == .running ? beat.map { max(0, Int(now.timeIntervalSince($0.startedAt))) } : nil,
                residentBytes: beat?.residentBytes, lastHeartbeat: beat?.lastBeat, detail: beat?.detail)
        }
        return StatusDTO(
            mode: try await mode().rawValue, paused: pause.paused, pausedBy: pause.paused ? pause.by : nil,
            pausedAt: pause.at == .distantPast ? nil : pause.at, version: identity.version, time: now, services: services)
    }

    public func markets() async throws -> MarketsDTO {
        let statuses = try await storage.collectionStatus()
        let series = try await storage.candleSeries()
        let pairs = Set(statuses.map(\.pair)).union(series.map(\.pair)).sorted()
        var markets: [MarketDTO] = []
        for pair in pairs {
            let status = statuses.first { $0.pair == pair }
            let ticker = try await latestTicker(pair: pair).map { t in
                TickerDTO(
                    time: t.time, bid: DecimalText.string(t.bid), ask: DecimalText.string(t.ask), last: DecimalText.string(t.last),
                    volume24h: DecimalText.string(t.volume24h), low24h: DecimalText.string(t.low24h), high24h: DecimalText.string(t.high24h))
            }
            markets.append(MarketDTO(
                pair: pair, ticker: ticker, status: status?.status ?? "not collected", dataPoints: status?.dataPoints ?? 0,
                lastCollected: status?.lastCollected, lastError: status?.lastError, errorCount: status?.errorCount ?? 0,
                intervals: series.filter { $0.pair == pair }.map {
                    SeriesDTO(intervalMinutes: $0.intervalMinutes, candles: $0.count, oldest: $0.oldest, newest: $0.newest)
                }))
        }
        return MarketsDTO(markets: markets)
    }

    public func candles(pair: String, intervalMinutes: Int, limit: Int, before: Date?) async throws -> [Candle] {
        try await storage.recentCandles(pair: pair, intervalMinutes: intervalMinutes, limit: limit, before: before, closedOnly: false)
    }

    // MARK: - Strategies and performance

    public func strategies() async throws -> [StrategyDTO] {
        try await cache.value("strategies", marker: try await storage.changeMarker()) { try await computeStrategies() }
    }

    func computeStrategies() async throws -> [StrategyDTO] {
        let mode = try await mode()
        let trades = try await storage.closedTrades(mode: mode)
        return try await storage.strategies().map { record in
            Self.strategyDTO(record, trades: trades.filter { $0.strategyID == record.id }.map(\.trade))
        }
    }

    public func strategy(id: Int64) async throws -> StrategyDTO {
        guard let record = try await storage.strategies().first(where: { $0.id == id }) else {
            throw APIError.notFound("no strategy with id \(id)")
        }
        let trades = try await storage.closedTrades(mode: try await mode()).filter { $0.strategyID == id }.map(\.trade)
        return Self.strategyDTO(record, trades: trades)
    }

    static func strategyDTO(_ record: StrategyRecord, trades: [ClosedTrade]) -> StrategyDTO {
        StrategyDTO(
            id: record.id, name: record.name, kind: record.kind, pair: record.pair, intervalMinutes: record.intervalMinutes,
            enabled: record.enabled, parameters: record.parameters, updatedAt: record.updatedAt,
            stats: PerformanceDTO(PerformanceStats(closedTrades: trades, startingBalance: PerformanceStats.capitalUsed(by: trades))))
    }

    /// A change to a strategy: enable/disable and parameters (merged into the stored ones;
    /// every value checked by the rules the engine applies). The engine picks it up at its next
    /// strategy reload.
    public struct StrategyPatch: Sendable, Equatable {
        public var enabled: Bool?
        public var parameters: [String: Double]?
        /// Replace the stored parameters instead of merging into them (the page's form sends
        /// all of them; a blank field means "the default").
        public var replaceParameters: Bool

        public init(enabled: Bool? = nil, parameters: [String: Double]? = nil, replaceParameters: Bool = false) {
            self.enabled = enabled
            self.parameters = parameters
            self.replaceParameters = replaceParameters
        }
    }

    public func update(strategy id: Int64, with patch: StrategyPatch) async throws -> StrategyDTO {
        guard let record = try await storage.strategies().first(where: { $0.id == id }) else {
            throw APIError.notFound("no strategy with id \(id)")
        }
        var parameters: [String: Double]?
        if let given = patch.parameters {
            let merged = patch.replaceParameters ? given : record.parameters.merging(given) { $1 }
            do {
                try StrategyCatalog.validate(try StrategyCatalog.type(named: record.kind), parameters: merged)
            } catch let invalid as StrategyParameter.Invalid {
                throw APIError(.unprocessableContent, "invalid_parameters", invalid.message)
            }
            parameters = merged
        }
        guard patch.enabled != nil || parameters != nil else {
            throw APIError.badRequest("nothing to change: give enabled and/or parameters")
        }
        _ = try await storage.updateStrategy(id: id, enabled: patch.enabled, parameters: parameters, at: clock.wallTime)
        return try await strategy(id: id)
    }

    /// The figures of `trading-engine stats`, per strategy and for the account (computed once
    /// per change of the ledger, then served from memory).
    public func performance() async throws -> PerformanceReportDTO {
        try await cache.value("performance", marker: try await storage.changeMarker()) { try await computePerformance() }
    }

    func computePerformance() async throws -> PerformanceReportDTO {
        let mode = try await mode()
        let balance = try await storage.ledgerAccount(mode: mode)?.capital ?? trading.startingBalance
        let rows = try await StatsOptions.rows(storage: storage, mode: mode, startingBalance: balance)
        let records = try await storage.strategies()
        let strategies = rows.dropLast().map { row in
            PerformanceRowDTO(strategyId: records.first { $0.name == row.strategy }?.id, strategy: row.strategy, stats: PerformanceDTO(row.stats))
        }
        return PerformanceReportDTO(
            mode: mode.rawValue, startingBalance: DecimalText.string(balance), strategies: strategies,
            total: PerformanceDTO(rows.last?.stats ?? PerformanceStats(closedTrades: [], startingBalance: balance)))
    }

    // MARK: - Ledger

    public func positions() async throws -> PositionsDTO {
        let mode = try await mode()
        let names = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0.name) })
        var positions: [PositionDTO] = []
        for row in try await storage.openPositions(mode: mode) {
            let mark = try await latestTicker(pair: row.pair)?.last
            let pnl = mark.map { ($0 - row.averagePrice) * row.quantity }
            let percent = mark.flatMap { mark -> Double? in
                guard row.averagePrice > 0 else { return nil }
                return NSDecimalNumber(decimal: (mark - row.averagePrice) / row.averagePrice * 100).doubleValue
            }
            positions.append(PositionDTO(
                strategyId: row.strategyID, strategy: names[row.strategyID] ?? String(row.strategyID), pair: row.pair,
                quantity: DecimalText.string(row.quantity), averagePrice: DecimalText.string(row.averagePrice),
                markPrice: mark.map(DecimalText.string), unrealisedPnL: pnl.map(DecimalText.string), unrealisedPercent: percent,
                stopLoss: row.stopLoss.map(DecimalText.string), takeProfit: row.takeProfit.map(DecimalText.string), openedAt: row.openedAt))
        }
        return PositionsDTO(mode: mode.rawValue, positions: positions)
    }

    public func trades(_ query: TradeQuery) async throws -> TradesPageDTO {
        let mode = try await mode()
        let names = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0.name) })
        var limited = query
        limited.limit = query.limit + 1  // one more tells whether another page exists
        var rows = try await storage.trades(mode: mode, query: limited)
        let more = rows.count > query.limit
        if more { rows.removeLast() }
        return TradesPageDTO(
            mode: mode.rawValue, trades: rows.map { Self.tradeDTO($0, names: names) },
            nextCursor: more ? rows.last.map { String($0.id) } : nil)
    }

    static func tradeDTO(_ row: TradeRow, names: [Int64: String]) -> TradeDTO {
        TradeDTO(
            id: row.id, strategyId: row.strategyID, strategy: row.strategyID.flatMap { names[$0] }, pair: row.pair, status: row.status,
            quantity: DecimalText.string(row.quantity), entryTime: row.entryTime, entryPrice: DecimalText.string(row.entryPrice),
            entryFee: DecimalText.string(row.entryFee), exitTime: row.exitTime, exitPrice: row.exitPrice.map(DecimalText.string),
            exitFee: row.exitFee.map(DecimalText.string), realisedPnL: row.realisedPnL.map(DecimalText.string), exitReason: row.exitReason)
    }

    /// Every trade matching the filters as CSV (RFC 4180), newest first, read in pages.
    public func tradesCSV(_ query: TradeQuery) async throws -> String {
        let mode = try await mode()
        let names = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0.name) })
        var csv = "id,strategy,pair,status,quantity,entry_time,entry_price,entry_fee,exit_time,exit_price,exit_fee,realised_pnl,exit_reason\r\n"
        var page = query
        page.limit = 1000
        while true {
            let rows = try await storage.trades(mode: mode, query: page)
            for row in rows {
                let fields: [String] = [
                    String(row.id), row.strategyID.flatMap { names[$0] } ?? "", row.pair, row.status, DecimalText.string(row.quantity),
                    UTCTime.iso8601(row.entryTime, fractional: false), DecimalText.string(row.entryPrice), DecimalText.string(row.entryFee),
                    row.exitTime.map { UTCTime.iso8601($0, fractional: false) } ?? "", row.exitPrice.map(DecimalText.string) ?? "",
                    row.exitFee.map(DecimalText.string) ?? "", row.realisedPnL.map(DecimalText.string) ?? "", row.exitReason ?? "",
                ]
                csv += fields.map(Self.csvField).joined(separator: ",") + "\r\n"
            }
            guard rows.count == page.limit, let last = rows.last else { break }
            page.beforeID = last.id
        }
        return csv
    }

    /// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` on text is prefixed with
    /// `'` so a spreadsheet does not run it as a formula.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+@".contains(first) || (first == "-" && Double(value) == nil) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The equity curve in `from...to` (default: everything), at most about `maxPoints` points
    /// unless `step` asks for finer ones.
    public func equity(from: Date?, to: Date?, stepSeconds: Int?, maxPoints: Int = 500) async throws -> EquityDTO {
        // The whole curve (what the overview draws) is cached per change; other ranges are read.
        guard from == nil, to == nil, stepSeconds == nil else {
            return try await computeEquity(from: from, to: to, stepSeconds: stepSeconds, maxPoints: maxPoints)
        }
        return try await cache.value("equity-\(maxPoints)", marker: try await storage.changeMarker()) {
            try await computeEquity(from: nil, to: nil, stepSeconds: nil, maxPoints: maxPoints)
        }
    }

    func computeEquity(from: Date?, to: Date?, stepSeconds: Int?, maxPoints: Int) async throws -> EquityDTO {
        let mode = try await mode()
        guard let range = try await storage.equityRange(mode: mode) else { return EquityDTO(mode: mode.rawValue, stepSeconds: stepSeconds ?? 60, points: []) }
        let start = from ?? range.lowerBound, end = to ?? range.upperBound
        guard start <= end else { throw APIError.badRequest("'from' must not be after 'to'") }
        let span = max(end.timeIntervalSince(start), 1)
        // A requested step is honoured down to 5,000 points over the range, no finer: one
        // answer stays small whatever the history.
        let finest = max(1, Int((span / 5000).rounded(.up)))
        let step = max(stepSeconds ?? max(1, Int((span / Double(maxPoints)).rounded(.up))), finest)
        let points = try await storage.equity(mode: mode, from: start, to: end, stepSeconds: step).map { row in
            EquityPointDTO(
                time: row.time, equity: DecimalText.string(row.equity), cash: DecimalText.string(row.cash),
                realisedPnL: DecimalText.string(row.realisedPnL), unrealisedPnL: DecimalText.string(row.unrealisedPnL),
                fees: DecimalText.string(row.fees))
        }
        return EquityDTO(mode: mode.rawValue, stepSeconds: step, points: points)
    }

    public func signals(limit: Int, strategyID: Int64?) async throws -> SignalsDTO {
        SignalsDTO(signals: try await storage.signals(limit: limit, strategyID: strategyID).map { row in
            SignalDTO(
                id: row.id, strategyId: row.strategyID, pair: row.pair, intervalMinutes: row.intervalMinutes, candleTime: row.candleTime,
                action: row.action, reason: row.reason, confidence: row.confidence, price: DecimalText.string(row.price), createdAt: row.createdAt)
        })
    }

    public func orders(limit: Int, strategyID: Int64?) async throws -> OrdersDTO {
        let mode = try await mode()
        return OrdersDTO(mode: mode.rawValue, orders: try await storage.orders(mode: mode, limit: limit, strategyID: strategyID).map { row in
            OrderDTO(
                id: row.id, strategyId: row.strategyID, clientOrderId: row.clientOrderID, exchangeOrderId: row.exchangeOrderID, mode: row.mode,
                pair: row.pair, side: row.side, quantity: DecimalText.string(row.quantity), status: row.status,
                filledQuantity: DecimalText.string(row.filledQuantity), averagePrice: row.averagePrice.map(DecimalText.string),
                fee: DecimalText.string(row.fee), error: row.error, createdAt: row.createdAt, updatedAt: row.updatedAt)
        })
    }

    // MARK: - Steering

    /// Pauses or resumes new entries; stored, so the engine reads it at its next entry and it
    /// survives restarts.
    public func setPaused(_ paused: Bool, by source: String) async throws -> PauseDTO {
        let state = PauseState(paused: paused, by: source, at: clock.wallTime)
        try await storage.setPause(state)
        publisher.publish(.pause(state))
        shared?.forget(Self.statusCacheKey)
        return PauseDTO(paused: state.paused, by: state.by, at: state.at)
    }

    public func pause() async throws -> PauseDTO {
        let state = try await storage.pauseState()
        return PauseDTO(paused: state.paused, by: state.by, at: state.at == .distantPast ? nil : state.at)
    }
}

/// Figures computed from the ledger, kept until the database's change marker moves.
actor FigureCache {
    var entries: [String: (marker: String, value: any Sendable)] = [:]

    func value<T: Sendable>(_ name: String, marker: String, compute: () async throws -> T) async throws -> T {
        if let entry = entries[name], entry.marker == marker, let value = entry.value as? T { return value }
        let value = try await compute()
        entries[name] = (marker, value)
        return value
    }
}
