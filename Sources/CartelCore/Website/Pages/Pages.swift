import Foundation
import Hummingbird
import Logging
import Mustache

/// The server-rendered dashboard: Overview, Markets, Strategies, Trades, Logs and the login
/// page. Every page works without JavaScript (forms post and redirect); `app.js` only converts
/// times to the browser's zone and refreshes `#live` when `/api/events` says something changed.
struct Pages: Sendable {
    let dashboard: Dashboard
    let auth: WebsiteAuth
    let logs: LogTail
    let clock: any WallClock
    let logger: Logger

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in Templates.all {
            do {
                try library.register(text, named: name)
            } catch {
                preconditionFailure("template \(name) does not parse: \(error)")  // a programming error, caught by every test
            }
        }
        return library
    }()

    // MARK: - Routes

    func register(on router: Router<WebsiteContext>) {
        router.get("/") { request, context in try await overview(request, context) }
        router.get("/markets") { request, context in try await markets(request, context) }
        router.get("/strategies") { request, context in try await strategies(request, context) }
        router.get("/strategies/:id") { request, context in try await strategy(request, context, backtest: false) }
        router.get("/strategies/:id/backtest") { request, context in try await strategy(request, context, backtest: true) }
        router.post("/strategies/:id") { request, context in try await saveStrategy(request, context) }
        router.post("/strategies/:id/enable") { request, context in try await toggle(request, context, enabled: true) }
        router.post("/strategies/:id/disable") { request, context in try await toggle(request, context, enabled: false) }
        router.get("/trades") { request, context in try await trades(request, context) }
        router.get("/logs") { request, context in try await logPage(request, context) }
        router.post("/pause") { request, context in try await setPaused(request, context, true) }
        router.post("/resume") { request, context in try await setPaused(request, context, false) }
        router.get("/login") { request, context in try await loginPage(request, context, error: nil, status: .ok) }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
        router.get("/static/app.css") { _, _ in Self.asset(WebsiteAssets.css, type: "text/css; charset=utf-8") }
        router.get("/static/app.js") { _, _ in Self.asset(WebsiteAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: - Layout

    struct NavItem {
        var href: String
        var label: String
        var current: Bool
    }

    struct Banner {
        var mode: String
        var modeLabel: String
        var paused: Bool
        var pausedBy: String?
        var pausedAt: String?
        var canChange: Bool
        var csrf: String
        var here: String
    }

    struct Layout {
        var title: String
        var nav: [NavItem]
        var banner: Banner?
        var mainID: String
        var body: String
        var csrf: String?
        var version: String
    }

    func csrf(_ context: WebsiteContext) -> String {
        if case .session(let token) = context.visitor { return token }
        return ""
    }

    func page(
        _ template: String, _ model: Any, title: String, current: String, context: WebsiteContext, request: Request, live: Bool = true,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let body = Self.library.render(MustacheValues.convert(model) ?? [:], withTemplate: template) ?? ""
        let pause = try await dashboard.pause()
        let mode = try await dashboard.mode()
        let sections = [("/", "Overview"), ("/markets", "Markets"), ("/strategies", "Strategies"), ("/trades", "Trades"), ("/logs", "Logs")]
        let banner = Banner(
            mode: mode.rawValue, modeLabel: mode.rawValue.uppercased(), paused: pause.paused, pausedBy: pause.paused ? pause.by : nil,
            pausedAt: pause.paused ? pause.at.map { UTCTime.iso8601($0, fractional: false) } : nil,
            canChange: auth.isEnabled && context.visitor != .anonymous, csrf: csrf(context), here: request.uri.path)
        let layout = Layout(
            title: title, nav: sections.map { NavItem(href: $0.0, label: $0.1, current: $0.1 == current) }, banner: banner,
            mainID: live ? "live" : "page", body: body, csrf: csrf(context).isEmpty ? nil : csrf(context), version: SignalCartelVersion.current)
        return Self.html(Self.library.render(MustacheValues.convert(layout) ?? [:], withTemplate: "layout") ?? "", status: status)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// An error as a page (no database access: it must render when the database is the problem).
    static func errorPage(_ error: APIError) -> Response {
        struct Model {
            var status: String
            var message: String
        }
        let body = library.render(Model(status: "\(error.status.code) \(error.status.reasonPhrase)", message: error.message), withTemplate: "error") ?? ""
        let layout = Layout(
            title: error.status.reasonPhrase, nav: [NavItem(href: "/", label: "Overview", current: false)], banner: nil, mainID: "page",
            body: body, csrf: nil, version: SignalCartelVersion.current)
        var response = html(library.render(layout, withTemplate: "layout") ?? "", status: error.status)
        for field in error.headers { response.headers.append(field) }
        return response
    }

    // MARK: - Overview

    struct ServiceCard {
        var name: String
        var state: String
        var uptime: String
        var memory: String
        var lastBeat: String?
        var pid: String
        var host: String?
        var lastLog: String
    }

    struct PositionLine {
        var strategy: String
        var pair: String
        var quantity: String
        var averagePrice: String
        var mark: String
        var pnl: String
        var pnlClass: String
        var stopLoss: String
        var takeProfit: String
        var openedAt: String
    }

    struct TradeLine {
        var id: Int64
        var strategy: String
        var pair: String
        var status: String
        var quantity: String
        var entryTime: String
        var entryPrice: String
        var exitTime: String?
        var exitPrice: String
        var pnl: String
        var pnlClass: String
        var reason: String
    }

    struct OverviewModel {
        var services: [ServiceCard]
        var equity: String
        var pnl: String
        var pnlClass: String
        var winRate: String
        var tradeCount: Int
        var fees: String
        var drawdown: String
        var equityChart: String
        var positions: [PositionLine]
        var hasPositions: Bool
        var trades: [TradeLine]
        var hasTrades: Bool
    }

    func overview(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        _ = try QueryReader(request, allowed: [])
        let status = try await dashboard.status()
        let cards = status.services.map { service in
            ServiceCard(
                name: service.name, state: service.state, uptime: service.uptimeSeconds.map(Format.duration) ?? "–",
                memory: service.residentBytes.map(Format.memory) ?? "–",
                lastBeat: service.lastHeartbeat.map { UTCTime.iso8601($0, fractional: false) }, pid: service.pid.map(String.init) ?? "–",
                host: service.host, lastLog: ServiceName(rawValue: service.name).flatMap { logs.lastLine(of: $0)?.text } ?? "no log yet")
        }
        let performance = try await dashboard.performance()
        let equity = try await dashboard.equity(from: nil, to: nil, stepSeconds: nil, maxPoints: 400)
        let positions = try await dashboard.positions().positions.map(Self.positionLine)
        let trades = try await dashboard.trades(TradeQuery(limit: 10)).trades.map(Self.tradeLine)
        let total = performance.total
        let latestEquity = equity.points.last.map { Format.money($0.equity) } ?? Format.money(performance.startingBalance)
        let chartPoints = equity.points.compactMap { point in Double(point.equity).map { ChartPoint(time: point.time, value: $0) } }
        let model = OverviewModel(
            services: cards, equity: latestEquity, pnl: Format.money(total.totalPnL), pnlClass: Format.sign(total.totalPnL),
            winRate: Format.percent(total.winRatePercent), tradeCount: total.trades, fees: Format.money(total.fees),
            drawdown: Format.percent(total.maxDrawdownPercent), equityChart: SVGChart.line(chartPoints, title: "Equity (\(performance.mode))"),
            positions: positions, hasPositions: !positions.isEmpty, trades: trades, hasTrades: !trades.isEmpty)
        return try await page("overview", model, title: "Overview", current: "Overview", context: context, request: request)
    }

    static func positionLine(_ position: PositionDTO) -> PositionLine {
        PositionLine(
            strategy: position.strategy, pair: position.pair, quantity: position.quantity, averagePrice: position.averagePrice,
            mark: position.markPrice ?? "–",
            pnl: position.unrealisedPnL.map { Format.money($0) + (position.unrealisedPercent.map { " (\(Format.percent($0)))" } ?? "") } ?? "–",
            pnlClass: position.unrealisedPnL.map(Format.sign) ?? "", stopLoss: position.stopLoss ?? "–", takeProfit: position.takeProfit ?? "–",
            openedAt: UTCTime.iso8601(position.openedAt, fractional: false))
    }

    static func tradeLine(_ trade: TradeDTO) -> TradeLine {
        TradeLine(
            id: trade.id, strategy: trade.strategy ?? "–", pair: trade.pair, status: trade.status, quantity: trade.quantity,
            entryTime: UTCTime.iso8601(trade.entryTime, fractional: false), entryPrice: trade.entryPrice,
            exitTime: trade.exitTime.map { UTCTime.iso8601($0, fractional: false) }, exitPrice: trade.exitPrice ?? "–",
            pnl: trade.realisedPnL.map(Format.money) ?? "–", pnlClass: trade.realisedPnL.map(Format.sign) ?? "", reason: trade.exitReason ?? "")
    }

    // MARK: - Markets

    struct SeriesLink {
        var pair: String
        var pairQuery: String
        var interval: Int
        var intervalLabel: String
        var current: Bool
    }

    struct MarketLine {
        var pair: String
        var status: String
        var statusClass: String
        var last: String
        var candles: Int
        var lastCollected: String?
        var errorCount: Int
        var lastError: String
    }

    struct ChartBlock {
        var pair: String
        var intervalLabel: String
        var candleCount: Int
        var strategies: [String]
        var last: String?
        var svg: String
    }

    struct MarketsModel {
        var series: [SeriesLink]
        var chart: ChartBlock?
        var markets: [MarketLine]
    }

    func markets(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        let query = try QueryReader(request, allowed: ["pair", "interval"])
        let markets = try await dashboard.markets().markets
        let all = markets.flatMap { market in market.intervals.map { (market.pair, $0.intervalMinutes) } }
        let pair = try query.pair("pair") ?? all.first?.0
        let interval = try query.interval("interval") ?? all.first { $0.0 == pair }?.1 ?? all.first?.1
        var chart: ChartBlock?
        if let pair, let interval {
            let candles = try await dashboard.candles(pair: pair, intervalMinutes: interval, limit: 240, before: nil)
            if !candles.isEmpty {
                let strategies = try await dashboard.storage.strategies().filter { $0.pair == pair && $0.intervalMinutes == interval }
                let overlays = ChartOverlays.series(for: strategies, candles: candles)
                let markers = try await tradeMarkers(pair: pair, strategies: strategies, from: candles[0].openTime)
                let svg = SVGChart.candles(
                    candles.map(ChartOverlays.chartCandle), overlays: overlays, markers: markers, title: "\(pair) \(Format.interval(interval))")
                chart = ChartBlock(
                    pair: pair, intervalLabel: Format.interval(interval), candleCount: candles.count, strategies: strategies.map(\.name),
                    last: candles.last.map { DecimalText.string($0.close) }, svg: svg)
            }
        }
        let model = MarketsModel(
            series: all.map { SeriesLink(
                pair: $0.0, pairQuery: $0.0.replacingOccurrences(of: "/", with: "%2F"), interval: $0.1, intervalLabel: Format.interval($0.1),
                current: $0.0 == pair && $0.1 == interval)
            },
            chart: chart,
            markets: markets.map { market in
                MarketLine(
                    pair: market.pair, status: market.status, statusClass: market.status == "active" || market.status == "ok" ? "running" : "stale",
                    last: market.ticker?.last ?? "–", candles: market.intervals.reduce(0) { $0 + $1.candles },
                    lastCollected: market.lastCollected.map { UTCTime.iso8601($0, fractional: false) }, errorCount: market.errorCount,
                    lastError: market.lastError ?? "")
            })
        return try await page("markets", model, title: "Markets", current: "Markets", context: context, request: request)
    }

    /// Entries and exits of the strategies trading this chart, placed on it.
    func tradeMarkers(pair: String, strategies: [StrategyRecord], from start: Date) async throws -> [ChartMarker] {
        var markers: [ChartMarker] = []
        let mode = try await dashboard.mode()
        for record in strategies {
            let trades = try await dashboard.storage.trades(mode: mode, query: TradeQuery(strategyID: record.id, pair: pair, limit: 200))
            for trade in trades {
                if trade.entryTime >= start {
                    markers.append(ChartMarker(
                        time: trade.entryTime, price: Format.double(trade.entryPrice), isBuy: true,
                        label: "\(record.name) buy \(DecimalText.string(trade.quantity)) @ \(DecimalText.string(trade.entryPrice))"))
                }
                if let exit = trade.exitTime, let price = trade.exitPrice, exit >= start {
                    markers.append(ChartMarker(
                        time: exit, price: Format.double(price), isBuy: false,
                        label: "\(record.name) sell @ \(DecimalText.string(price)) \(trade.exitReason ?? "")"))
                }
            }
        }
        return markers.sorted { $0.time < $1.time }
    }

    // MARK: - Strategies

    struct StrategyLine {
        var id: Int64
        var name: String
        var kind: String
        var pair: String
        var interval: String
        var state: String
        var stateClass: String
        var parameters: String
        var trades: Int
        var winRate: String
        var pnl: String
        var pnlClass: String
        var drawdown: String
        var canChange: Bool
        var csrf: String
        var toggleAction: String
        var toggleLabel: String
    }

    struct StrategiesModel {
        var notice: String?
        var strategies: [StrategyLine]
    }

    func strategies(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        let query = try QueryReader(request, allowed: ["saved"])
        let canChange = auth.isEnabled && context.visitor != .anonymous
        let lines = try await dashboard.strategies().map { s in
            StrategyLine(
                id: s.id, name: s.name, kind: s.kind, pair: s.pair, interval: Format.interval(s.intervalMinutes),
                state: s.enabled ? "enabled" : "disabled", stateClass: s.enabled ? "running" : "stopped",
                parameters: Format.parameters(s.parameters), trades: s.stats?.trades ?? 0, winRate: Format.percent(s.stats?.winRatePercent),
                pnl: s.stats.map { Format.money($0.totalPnL) } ?? "–", pnlClass: s.stats.map { Format.sign($0.totalPnL) } ?? "",
                drawdown: Format.percent(s.stats?.maxDrawdownPercent), canChange: canChange, csrf: csrf(context),
                toggleAction: s.enabled ? "disable" : "enable", toggleLabel: s.enabled ? "Disable" : "Enable")
        }
        let notice = query.string("saved") == nil ? nil : Self.savedNotice
        return try await page(
            "strategies", StrategiesModel(notice: notice, strategies: lines), title: "Strategies", current: "Strategies", context: context,
            request: request, live: false)
    }

    struct Field {
        var name: String
        var value: String
        var placeholder: String
        var help: String
    }

    struct BacktestBlock {
        var candles: Int
        var pair: String
        var from: String
        var to: String
        var parameters: String
        var trades: Int
        var winRate: String
        var pnl: String
        var pnlClass: String
        var fees: String
        var drawdown: String
        var sharpe: String
        var note: String?
    }

    struct StrategyModel {
        var id: Int64
        var name: String
        var kind: String
        var pair: String
        var interval: String
        var state: String
        var stateClass: String
        var enabled: Bool
        var updatedAt: String
        var notice: String?
        var error: String?
        var trades: Int
        var winRate: String
        var pnl: String
        var pnlClass: String
        var drawdown: String
        var fields: [Field]
        var canChange: Bool
        var csrf: String
        var backtest: BacktestBlock?
    }

    func strategy(_ request: Request, _ context: WebsiteContext, backtest: Bool) async throws -> Response {
        let id = try WebsiteAPI.id(context)
        let detail = try await dashboard.strategy(id: id)
        let type = try StrategyCatalog.type(named: detail.kind)
        let names = Self.parameterNames(type)
        var error: String?
        var block: BacktestBlock?
        var shown = detail.parameters
        if backtest {
            let query = try QueryReader(request, allowed: Set(names.map { "p.\($0)" } + ["_csrf", "enabled"]))
            do {
                shown = try Self.parameters(from: names.reduce(into: [String: String]()) { $0["p.\($1)"] = query.string("p.\($1)") }, names: names)
                try StrategyCatalog.validate(type, parameters: shown)
                block = try await runBacktest(detail, parameters: shown)
            } catch let invalid as StrategyParameter.Invalid {
                error = invalid.message
            } catch let invalid as APIError {
                error = invalid.message
            }
        } else {
            _ = try QueryReader(request, allowed: ["saved"])
        }
        let notice = request.uri.queryParameters["saved"] != nil ? Self.savedNotice : nil
        let model = Self.strategyModel(
            detail, type: type, shown: shown, notice: notice, error: error, canChange: auth.isEnabled && context.visitor != .anonymous,
            csrf: csrf(context), backtest: block)
        return try await page(
            "strategy", model, title: detail.name, current: "Strategies", context: context, request: request, live: false,
            status: error == nil ? .ok : .unprocessableContent)
    }

    static let savedNotice =
        "Saved. The trading engine picks the change up within 10 seconds. A position already open keeps the stop-loss and take-profit it was opened with; a disabled strategy's open position stays protected by them until it closes."

    static func parameterNames(_ type: any Strategy.Type) -> [String] {
        type.parameters.map(\.name) + ExitRules.parameterNames.sorted()
    }

    static func strategyModel(
        _ detail: StrategyDTO, type: any Strategy.Type, shown: [String: Double], notice: String?, error: String?, canChange: Bool, csrf: String,
        backtest: BacktestBlock?
    ) -> StrategyModel {
        var fields = type.parameters.map { parameter in
            Field(
                name: parameter.name, value: shown[parameter.name].map(Format.number) ?? "", placeholder: Format.number(parameter.defaultValue),
                help: "\(Format.number(parameter.range.lowerBound))…\(Format.number(parameter.range.upperBound))\(parameter.isInteger ? ", whole" : "")")
        }
        let exitHelp = [
            "stop_loss": "percent below entry (0 = off)", "stop_loss_atr": "ATRs below entry", "take_profit": "percent above entry",
            "take_profit_atr": "ATRs above entry", "cooldown": "candles after a stop-out",
        ]
        fields += ExitRules.parameterNames.sorted().map { name in
            Field(name: name, value: shown[name].map(Format.number) ?? "", placeholder: "engine default", help: exitHelp[name] ?? "")
        }
        let stats = detail.stats
        return StrategyModel(
            id: detail.id, name: detail.name, kind: detail.kind, pair: detail.pair, interval: Format.interval(detail.intervalMinutes),
            state: detail.enabled ? "enabled" : "disabled", stateClass: detail.enabled ? "running" : "stopped", enabled: detail.enabled,
            updatedAt: UTCTime.iso8601(detail.updatedAt, fractional: false), notice: notice, error: error, trades: stats?.trades ?? 0,
            winRate: Format.percent(stats?.winRatePercent), pnl: stats.map { Format.money($0.totalPnL) } ?? "–",
            pnlClass: stats.map { Format.sign($0.totalPnL) } ?? "", drawdown: Format.percent(stats?.maxDrawdownPercent), fields: fields,
            canChange: canChange, csrf: csrf, backtest: backtest)
    }

    /// Form fields `p.<name>` to parameters: blank fields are left out (the default applies).
    static func parameters(from form: [String: String], names: [String]) throws -> [String: Double] {
        var values: [String: Double] = [:]
        for name in names {
            guard let text = form["p.\(name)"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { continue }
            guard let value = Double(text), value.isFinite else { throw APIError.badRequest("\(name): '\(text.prefix(30))' is not a number") }
            values[name] = value
        }
        return values
    }

    /// The strategy over the newest 20,000 final candles of its pair and interval, with the
    /// engine's risk, exit and paper-execution settings.
    func runBacktest(_ detail: StrategyDTO, parameters: [String: Double]) async throws -> BacktestBlock {
        // The newest 20,000 final candles, read as such (a backtest of them takes about a millisecond).
        let candles = try await dashboard.storage.recentCandles(
            pair: detail.pair, intervalMinutes: detail.intervalMinutes, limit: 20_000, before: nil, closedOnly: true)
        let configuration = BacktestConfiguration(
            trading: dashboard.trading, strategy: detail.name, pair: detail.pair, intervalMinutes: detail.intervalMinutes)
        let result = try Backtester.run(kind: detail.kind, parameters: parameters, candles: candles.map(StrategyCandle.init), configuration: configuration)
        let stats = result.stats
        return BacktestBlock(
            candles: candles.count, pair: detail.pair, from: candles.first.map { UTCTime.iso8601($0.openTime, fractional: false) } ?? "–",
            to: candles.last.map { UTCTime.iso8601($0.openTime, fractional: false) } ?? "–", parameters: Format.parameters(parameters),
            trades: stats.trades, winRate: Format.percent(stats.winRatePercent), pnl: Format.money(DecimalText.string(stats.totalPnL)),
            pnlClass: Format.sign(DecimalText.string(stats.totalPnL)), fees: Format.money(DecimalText.string(stats.fees)),
            drawdown: Format.percent(stats.maxDrawdownPercent), sharpe: stats.sharpe.map(NumberText.hundredths) ?? "–",
            note: candles.isEmpty ? "No final candles stored for this pair and interval yet." : result.haltReason.map { "Stopped early: \($0)" })
    }

    func saveStrategy(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        let id = try WebsiteAPI.id(context)
        let form = try await formFields(request, context)
        let detail = try await dashboard.strategy(id: id)
        let type = try StrategyCatalog.type(named: detail.kind)
        let names = Self.parameterNames(type)
        let unknown = form.keys.filter { !$0.hasPrefix("p.") && !["_csrf", "enabled"].contains($0) || ($0.hasPrefix("p.") && !names.contains(String($0.dropFirst(2)))) }
        do {
            guard unknown.isEmpty else { throw APIError.badRequest("unknown form field '\(unknown.sorted()[0].prefix(40))'") }
            let parameters = try Self.parameters(from: form, names: names)
            _ = try await dashboard.update(
                strategy: id, with: Dashboard.StrategyPatch(enabled: form["enabled"] != nil, parameters: parameters, replaceParameters: true))
            logger.notice("strategy changed from the website", metadata: ["strategy": "\(detail.name)"])
            return Self.redirect("/strategies/\(id)?saved=1")
        } catch let invalid as APIError where invalid.status.code < 500 {
            var shown = detail.parameters
            if let given = try? Self.parameters(from: form, names: names) { shown = given }
            let model = Self.strategyModel(
                detail, type: type, shown: shown, notice: nil, error: invalid.message, canChange: true, csrf: csrf(context), backtest: nil)
            return try await page(
                "strategy", model, title: detail.name, current: "Strategies", context: context, request: request, live: false,
                status: .unprocessableContent)
        }
    }

    func toggle(_ request: Request, _ context: WebsiteContext, enabled: Bool) async throws -> Response {
        let id = try WebsiteAPI.id(context)
        _ = try await formFields(request, context)
        let updated = try await dashboard.update(strategy: id, with: Dashboard.StrategyPatch(enabled: enabled))
        logger.notice("strategy \(enabled ? "enabled" : "disabled") from the website", metadata: ["strategy": "\(updated.name)"])
        return Self.redirect("/strategies?saved=1")
    }

    /// The fields of a posted form, after its CSRF token was checked.
    func formFields(_ request: Request, _ context: WebsiteContext) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let fields = try FormBody.parse(String(buffer: body))
        if case .session(let token) = context.visitor {
            guard let given = fields[WebsiteAuth.csrfField], WebsiteAuth.same(given, token) else {
                throw APIError(.forbidden, "csrf", "the form's security token is missing or stale: reload the page and try again")
            }
        }
        return fields
    }

    func setPaused(_ request: Request, _ context: WebsiteContext, _ paused: Bool) async throws -> Response {
        let form = try await formFields(request, context)
        _ = try await dashboard.setPaused(paused, by: "website")
        logger.notice(paused ? "new entries paused from the website" : "new entries resumed from the website")
        return Self.redirect(Self.safeNext(form["next"]))
    }

    /// A local path to return to (never another site: `//host` and schemes are refused).
    static func safeNext(_ next: String?) -> String {
        // Printable ASCII only (a tab or newline a browser drops could turn `/\t/x` into `//x`),
        // a path on this site, never `//host` or `/\host`.
        guard let next, next.count < 500, next.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { return "/" }
        let bytes = Array(next.utf8)
        guard bytes.first == UInt8(ascii: "/"), bytes.count == 1 || (bytes[1] != UInt8(ascii: "/") && bytes[1] != UInt8(ascii: "\\")),
            !next.contains("\\")
        else { return "/" }
        return next
    }

    // MARK: - Trades

    struct StrategyOption {
        var id: Int64
        var name: String
        var selected: Bool
    }

    struct TradesModel {
        var strategyOptions: [StrategyOption]
        var pair: String
        var from: String
        var to: String
        var csvQuery: String
        var error: String?
        var trades: [TradeLine]
        var hasTrades: Bool
        var first: String?
        var next: String?
    }

    func trades(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        let query = try QueryReader(request, allowed: ["strategy", "pair", "from", "to", "cursor"])
        var error: String?
        var tradeQuery = TradeQuery(limit: 50)
        do {
            tradeQuery = try WebsiteAPI.tradeQuery(query, paged: true)
            tradeQuery.limit = 50
        } catch let invalid as APIError {
            error = invalid.message
        }
        let found = try await dashboard.trades(tradeQuery)
        let records = try await dashboard.storage.strategies()
        var filters: [(String, String)] = []
        if let id = tradeQuery.strategyID { filters.append(("strategy", String(id))) }
        for name in ["pair", "from", "to"] { if let value = query.string(name) { filters.append((name, value)) } }
        func link(_ extra: [(String, String)]) -> String {
            let items = (filters + extra).map { "\($0.0)=\(AuthMiddleware.percentEncode($0.1).replacingOccurrences(of: "/", with: "%2F"))" }
            return items.isEmpty ? "" : "?" + items.joined(separator: "&")
        }
        let model = TradesModel(
            strategyOptions: records.map { StrategyOption(id: $0.id, name: $0.name, selected: $0.id == tradeQuery.strategyID) },
            pair: query.string("pair") ?? "", from: query.string("from") ?? "", to: query.string("to") ?? "", csvQuery: link([]), error: error,
            trades: found.trades.map(Self.tradeLine), hasTrades: !found.trades.isEmpty,
            first: tradeQuery.beforeID == nil ? nil : "/trades" + link([]), next: found.nextCursor.map { "/trades" + link([("cursor", $0)]) })
        return try await page("trades", model, title: "Trades", current: "Trades", context: context, request: request)
    }

    // MARK: - Logs

    struct LogServiceLink {
        var name: String
        var level: String
        var current: Bool
    }

    struct LevelOption {
        var name: String
        var selected: Bool
    }

    struct LogLine {
        var time: String?
        var level: String
        var levelText: String
        var text: String
    }

    struct LogsModel {
        var services: [LogServiceLink]
        var service: String
        var levels: [LevelOption]
        var count: Int
        var path: String
        var lines: [LogLine]
    }

    func logPage(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        let query = try QueryReader(request, allowed: ["service", "level"])
        let serviceText = query.string("service") ?? ServiceName.tradingEngine.rawValue
        guard let service = ServiceName(rawValue: serviceText) else {
            throw APIError.badRequest("'service' must be one of \(ServiceName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let level = query.string("level") ?? "info"
        guard LogTail.levels.contains(level) else { throw APIError.badRequest("'level' must be one of \(LogTail.levels.joined(separator: ", "))") }
        let lines = logs.lines(of: service, minimumLevel: level, limit: 300)
        let model = LogsModel(
            services: ServiceName.allCases.map { LogServiceLink(name: $0.rawValue, level: level, current: $0 == service) }, service: service.rawValue,
            levels: LogTail.levels.map { LevelOption(name: $0, selected: $0 == level) }, count: lines.count, path: logs.path(of: service),
            lines: lines.map { LogLine(time: $0.time, level: $0.level ?? "none", levelText: $0.level ?? "", text: $0.text) })
        return try await page("logs", model, title: "Logs", current: "Logs", context: context, request: request)
    }

    // MARK: - Login

    struct LoginModel {
        var next: String
        var error: String?
    }

    func loginPage(_ request: Request, _ context: WebsiteContext, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        guard auth.isEnabled else { return Self.redirect(next) }
        let body = Self.library.render(LoginModel(next: next, error: error), withTemplate: "login") ?? ""
        let layout = Layout(title: "Log in", nav: [], banner: nil, mainID: "page", body: body, csrf: nil, version: SignalCartelVersion.current)
        var response = Self.html(Self.library.render(layout, withTemplate: "layout") ?? "", status: status)
        if status == .tooManyRequests, let retry = error?.split(separator: " ").compactMap({ Int($0) }).first {
            response.headers[.retryAfter] = String(retry)
        }
        return response
    }

    func login(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        guard auth.isEnabled else { return Self.redirect("/") }
        let address = Self.clientAddress(request, context, behindProxy: auth.secureCookie)
        let now = clock.wallTime
        if let wait = auth.loginRetryAfter(address, now: now) {
            logger.warning("login refused: too many failed attempts", metadata: ["address": "\(address)"])
            return try await loginPage(
                request, context, error: "Too many failed attempts from your address: try again in \(Int(wait.rounded(.up))) seconds.",
                status: .tooManyRequests)
        }
        // Counted before the password is looked at, so parallel guesses cannot all slip in
        // before the first failure is recorded; a right password clears the count.
        auth.recordLogin(address, succeeded: false, now: now)
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let form = try FormBody.parse(String(buffer: body))
        guard let password = form["password"], auth.checkPassword(password) else {
            logger.warning("failed login", metadata: ["address": "\(address)"])
            return try await loginPage(request, context, error: "Wrong password.", status: .unauthorized)
        }
        auth.recordLogin(address, succeeded: true, now: now)
        logger.notice("login", metadata: ["address": "\(address)"])
        var response = Self.redirect(Self.safeNext(form["next"]))
        response.headers[.setCookie] = auth.sessionCookie(auth.issueSession(now: now))
        return response
    }

    /// Whom login attempts are counted against: the peer, or behind a TLS proxy the address
    /// the proxy appended last to `X-Forwarded-For` (IPv6 by its /64).
    static func clientAddress(_ request: Request, _ context: WebsiteContext, behindProxy: Bool) -> String {
        var address = context.remoteAddress?.ipAddress ?? "unknown"
        if behindProxy, let forwarded = request.headers[.init("X-Forwarded-For")!]?.split(separator: ",").last {
            address = forwarded.trimmingCharacters(in: .whitespaces)
        }
        if address.contains(":") {
            return address.split(separator: ":", omittingEmptySubsequences: false).prefix(4).joined(separator: ":") + "::/64"
        }
        return address
    }

    func logout(_ request: Request, _ context: WebsiteContext) async throws -> Response {
        _ = try await formFields(request, context)
        var response = Self.redirect("/login")
        response.headers[.setCookie] = auth.clearedCookie
        return response
    }
}

/// Page models as dictionaries and arrays, made with one reflection pass: swift-mustache would
/// otherwise reflect a struct again for every name a template looks up in it. Nil optionals
/// become missing keys (false in a section).
enum MustacheValues {
    static func convert(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first else { return nil }
            return convert(wrapped.value)
        case .struct, .class:
            var values: [String: Any] = [:]
            for child in mirror.children {
                if let label = child.label, let converted = convert(child.value) { values[label] = converted }
            }
            return values
        case .collection:
            return mirror.children.compactMap { convert($0.value) }
        default:
            return value
        }
    }
}

/// `application/x-www-form-urlencoded` bodies.
enum FormBody {
    static func parse(_ text: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw APIError.badRequest("the form is not valid application/x-www-form-urlencoded")
            }
            guard fields[name] == nil else { throw APIError.badRequest("form field '\(name.prefix(40))' is given twice") }
            fields[name] = value
        }
        return fields
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// How the pages write numbers, money, spans and sizes.
enum Format {
    /// Money to two decimals with thousands separators: `10,234.50`, `-3.10`.
    static func money(_ text: String) -> String {
        guard let value = DecimalText.parse(text) else { return text }
        let rounded = DecimalText.string(value.rounded(2, .plain))
        let negative = rounded.hasPrefix("-")
        let digits = negative ? String(rounded.dropFirst()) : rounded
        let parts = digits.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let fraction = parts.count > 1 ? String(parts[1]).padding(toLength: 2, withPad: "0", startingAt: 0) : "00"
        return (negative ? "-" : "") + whole + grouped + "." + fraction
    }

    static func sign(_ text: String) -> String {
        guard let value = DecimalText.parse(text) else { return "" }
        return value > 0 ? "pos" : value < 0 ? "neg" : ""
    }

    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return NumberText.hundredths(value) + "%"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    static func parameters(_ values: [String: Double]) -> String {
        values.isEmpty ? "defaults" : values.keys.sorted().map { "\($0)=\(number(values[$0]!))" }.joined(separator: " ")
    }

    static func duration(_ seconds: Int) -> String {
        let days = seconds / 86_400, hours = seconds / 3600 % 24, minutes = seconds / 60 % 60
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        return "\(minutes)m \(seconds % 60)s"
    }

    static func memory(_ bytes: UInt64) -> String {
        "\((Double(bytes) / 1_048_576 * 10).rounded() / 10) MB"
    }

    static func interval(_ minutes: Int) -> String {
        switch minutes {
        case 1440: "1d"
        case 10080: "1w"
        case 21600: "15d"
        case let m where m >= 60 && m % 60 == 0: "\(m / 60)h"
        default: "\(minutes)m"
        }
    }
}
