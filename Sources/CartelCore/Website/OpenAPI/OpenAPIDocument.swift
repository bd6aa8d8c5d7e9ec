/// The API contract, served at `/api/openapi.yaml`. `WebsiteAPI.routes` must list exactly the
/// operations below with exactly their query parameters; `OpenAPIContractTests` checks that and
/// every response against this document.
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.1.0
info:
  title: SignalCartel website API
  version: 1.0.0
  description: |
    The JSON API of the SignalCartel dashboard, over the database the trading engine and the
    market-data collector write. Money, prices and volumes are exact decimal strings; times are
    ISO-8601 UTC. Unknown query parameters are an error. With DASHBOARD_PASSWORD set, every
    call except /api/health needs a session cookie (from /login) or `Authorization: Bearer
    $API_TOKEN`; changes made with a cookie must come from the site itself (Origin). Without a
    password the API is read-only (changes answer 403) and answers only requests addressed to a
    loopback host name (others get 421, against DNS rebinding).
servers:
  - url: http://127.0.0.1:3001
security:
  - bearer: []
  - session: []
paths:
  /api/health:
    get:
      operationId: getHealth
      summary: Liveness of the website and what it knows of its peers.
      security: []
      responses:
        "200": { description: Healthy., content: { application/json: { schema: { $ref: "#/components/schemas/Health" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "503": { description: The database is unreachable (degraded)., content: { application/json: { schema: { $ref: "#/components/schemas/Health" } } } }
  /api/status:
    get:
      operationId: getStatus
      summary: Every service from its heartbeat, the trading mode and whether entries are paused.
      responses:
        "200": { description: Status., content: { application/json: { schema: { $ref: "#/components/schemas/Status" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/markets:
    get:
      operationId: getMarkets
      summary: Pairs with their latest ticker, collection status and stored candle series.
      responses:
        "200": { description: Markets., content: { application/json: { schema: { $ref: "#/components/schemas/Markets" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/candles:
    get:
      operationId: getCandles
      summary: The newest candles of a pair and interval, oldest first.
      parameters:
        - { name: pair, in: query, required: true, schema: { type: string, example: BTC/USD } }
        - { name: interval, in: query, required: true, description: Minutes (Kraken's intervals)., schema: { type: integer, enum: [1, 5, 15, 30, 60, 240, 1440, 10080, 21600] } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 5000, default: 500 } }
        - { name: before, in: query, description: Only candles that opened before this time., schema: { $ref: "#/components/schemas/TimeParameter" } }
      responses:
        "200": { description: Candles., content: { application/json: { schema: { $ref: "#/components/schemas/Candles" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/strategies:
    get:
      operationId: listStrategies
      summary: Every configured strategy with its parameters and statistics.
      responses:
        "200": { description: Strategies., content: { application/json: { schema: { $ref: "#/components/schemas/Strategies" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/strategies/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
    get:
      operationId: getStrategy
      summary: One strategy with its statistics.
      responses:
        "200": { description: The strategy., content: { application/json: { schema: { $ref: "#/components/schemas/Strategy" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
        "503": { $ref: "#/components/responses/Unavailable" }
    patch:
      operationId: updateStrategy
      summary: Enable or disable a strategy or change its parameters (checked by the engine's rules; the engine picks the change up within 10 s).
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                enabled: { type: boolean }
                parameters: { type: object, additionalProperties: { type: number }, description: Merged into the stored parameters. }
      responses:
        "200": { description: The changed strategy., content: { application/json: { schema: { $ref: "#/components/schemas/Strategy" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "413": { $ref: "#/components/responses/TooLarge" }
        "422": { description: A parameter breaks the strategy's rules., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/positions:
    get:
      operationId: listPositions
      summary: Open positions with unrealised P&L at the latest ticker and their stored exit levels.
      responses:
        "200": { description: Positions., content: { application/json: { schema: { $ref: "#/components/schemas/Positions" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/trades:
    get:
      operationId: listTrades
      summary: Trades, newest first, with cursor pagination that is stable under inserts.
      parameters:
        - { $ref: "#/components/parameters/StrategyFilter" }
        - { $ref: "#/components/parameters/PairFilter" }
        - { $ref: "#/components/parameters/From" }
        - { $ref: "#/components/parameters/To" }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 500, default: 50 } }
        - { name: cursor, in: query, description: The nextCursor of the previous page., schema: { type: string } }
      responses:
        "200": { description: A page of trades., content: { application/json: { schema: { $ref: "#/components/schemas/TradesPage" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/trades.csv:
    get:
      operationId: downloadTrades
      summary: Every trade matching the filters as CSV.
      parameters:
        - { $ref: "#/components/parameters/StrategyFilter" }
        - { $ref: "#/components/parameters/PairFilter" }
        - { $ref: "#/components/parameters/From" }
        - { $ref: "#/components/parameters/To" }
      responses:
        "200": { description: CSV (RFC 4180)., content: { text/csv: { schema: { type: string } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/performance:
    get:
      operationId: getPerformance
      summary: Per strategy and in total, the figures of `trading-engine stats`.
      responses:
        "200": { description: Performance., content: { application/json: { schema: { $ref: "#/components/schemas/PerformanceReport" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/equity:
    get:
      operationId: getEquity
      summary: The equity curve, downsampled on the server (the last snapshot of each step).
      parameters:
        - { $ref: "#/components/parameters/From" }
        - { $ref: "#/components/parameters/To" }
        - { name: step, in: query, description: Seconds per point (default about 500 points over the range)., schema: { type: integer, minimum: 1, maximum: 31536000 } }
      responses:
        "200": { description: Equity points., content: { application/json: { schema: { $ref: "#/components/schemas/Equity" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/signals:
    get:
      operationId: listSignals
      summary: The newest enter and exit signals.
      parameters:
        - { $ref: "#/components/parameters/StrategyFilter" }
        - { $ref: "#/components/parameters/Limit" }
      responses:
        "200": { description: Signals., content: { application/json: { schema: { $ref: "#/components/schemas/Signals" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/orders:
    get:
      operationId: listOrders
      summary: The newest orders of the current trading mode.
      parameters:
        - { $ref: "#/components/parameters/StrategyFilter" }
        - { $ref: "#/components/parameters/Limit" }
      responses:
        "200": { description: Orders., content: { application/json: { schema: { $ref: "#/components/schemas/Orders" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/pause:
    get:
      operationId: getPause
      summary: Whether new entries are paused.
      responses:
        "200": { description: The pause state., content: { application/json: { schema: { $ref: "#/components/schemas/Pause" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "503": { $ref: "#/components/responses/Unavailable" }
    post:
      operationId: pause
      summary: Pause new entries (exits still run); stored, so it survives restarts. The engine reads it before every entry.
      responses:
        "200": { description: Paused., content: { application/json: { schema: { $ref: "#/components/schemas/Pause" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "413": { $ref: "#/components/responses/TooLarge" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/resume:
    post:
      operationId: resume
      summary: Resume new entries.
      responses:
        "200": { description: Resumed., content: { application/json: { schema: { $ref: "#/components/schemas/Pause" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "413": { $ref: "#/components/responses/TooLarge" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/events:
    get:
      operationId: streamEvents
      summary: Server-Sent Events (candle, signal, order, fill, service, pause), each with an id; send Last-Event-ID to resume. A keep-alive comment every 15 s.
      parameters:
        - { name: Last-Event-ID, in: header, schema: { type: string, pattern: "^[0-9]+$" } }
      responses:
        "200": { description: An event stream., content: { text/event-stream: { schema: { type: string } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "429": { description: WEBSITE_MAX_SSE_CLIENTS streams are open., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
        "503": { $ref: "#/components/responses/Unavailable" }
  /api/openapi.yaml:
    get:
      operationId: getOpenAPIDocument
      summary: This document.
      responses:
        "200": { description: OpenAPI 3.1 YAML., content: { application/yaml: { schema: { type: string } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, description: API_TOKEN }
    session: { type: apiKey, in: cookie, name: sc_session }
  parameters:
    StrategyFilter: { name: strategy, in: query, description: A strategy id., schema: { type: integer, minimum: 1 } }
    PairFilter: { name: pair, in: query, schema: { type: string, example: BTC/USD } }
    From: { name: from, in: query, schema: { $ref: "#/components/schemas/TimeParameter" } }
    To: { name: to, in: query, schema: { $ref: "#/components/schemas/TimeParameter" } }
    Limit: { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 1000, default: 100 } }
  responses:
    BadRequest: { description: Bad input (unknown or malformed parameter, bad body)., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    Unauthorized: { description: No valid session or bearer token., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    Forbidden: { description: Read-only site (no DASHBOARD_PASSWORD) or a cross-site request., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    NotFound: { description: No such object., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    TooLarge: { description: The body is over 64 KiB., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    Unavailable: { description: The database cannot be read right now., content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
  schemas:
    Money: { type: string, pattern: "^-?[0-9]+(\\.[0-9]+)?$", description: An exact decimal. }
    Time: { type: string, format: date-time }
    TimeParameter: { type: string, description: "ISO-8601 (2026-11-26 or 2026-11-26T10:00:00Z) or Unix seconds." }
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties: { code: { type: string }, message: { type: string } }
    Health:
      type: object
      required: [status, service, version, uptimeSeconds, database, redis, services]
      properties:
        status: { type: string, enum: [ok, degraded] }
        service: { type: string }
        version: { type: string }
        uptimeSeconds: { type: integer }
        database: { type: string, enum: [ok, unreachable] }
        redis:
          type: string
          pattern: "^(not configured|ok|degraded: .+)$"
          description: >-
            `not configured` without REDIS_URL; `degraded: <why>` while Redis is unreachable or refuses the password (the
            site then reads the database and polls its journal: the status stays ok).
        services:
          type: object
          additionalProperties:
            type: object
            required: [state, pid, host, lastHeartbeat]
            properties:
              state: { type: string, enum: [running, stopped, stale, unknown] }
              pid: { type: [integer, "null"] }
              host: { type: [string, "null"] }
              lastHeartbeat: { oneOf: [{ $ref: "#/components/schemas/Time" }, { type: "null" }] }
    ServiceStatus:
      type: object
      required: [name, state]
      properties:
        name: { type: string, enum: [website, trading-engine, market-data] }
        state: { type: string, enum: [running, stopped, stale, unknown] }
        pid: { type: integer }
        host: { type: string }
        version: { type: string }
        startedAt: { $ref: "#/components/schemas/Time" }
        uptimeSeconds: { type: integer }
        residentBytes: { type: integer }
        lastHeartbeat: { $ref: "#/components/schemas/Time" }
        detail: { type: string }
    Status:
      type: object
      required: [mode, paused, version, time, services]
      properties:
        mode: { type: string, enum: [paper, validate, live] }
        paused: { type: boolean }
        pausedBy: { type: string }
        pausedAt: { $ref: "#/components/schemas/Time" }
        version: { type: string }
        time: { $ref: "#/components/schemas/Time" }
        services: { type: array, items: { $ref: "#/components/schemas/ServiceStatus" } }
    Ticker:
      type: object
      required: [time, bid, ask, last, volume24h, low24h, high24h]
      properties:
        time: { $ref: "#/components/schemas/Time" }
        bid: { $ref: "#/components/schemas/Money" }
        ask: { $ref: "#/components/schemas/Money" }
        last: { $ref: "#/components/schemas/Money" }
        volume24h: { $ref: "#/components/schemas/Money" }
        low24h: { $ref: "#/components/schemas/Money" }
        high24h: { $ref: "#/components/schemas/Money" }
    Market:
      type: object
      required: [pair, status, dataPoints, errorCount, intervals]
      properties:
        pair: { type: string }
        ticker: { $ref: "#/components/schemas/Ticker" }
        status: { type: string }
        dataPoints: { type: integer }
        lastCollected: { $ref: "#/components/schemas/Time" }
        lastError: { type: string }
        errorCount: { type: integer }
        intervals:
          type: array
          items:
            type: object
            required: [intervalMinutes, candles, oldest, newest]
            properties:
              intervalMinutes: { type: integer }
              candles: { type: integer }
              oldest: { $ref: "#/components/schemas/Time" }
              newest: { $ref: "#/components/schemas/Time" }
    Markets:
      type: object
      required: [markets]
      properties: { markets: { type: array, items: { $ref: "#/components/schemas/Market" } } }
    Candle:
      type: object
      required: [time, open, high, low, close, volume]
      properties:
        time: { $ref: "#/components/schemas/Time" }
        open: { $ref: "#/components/schemas/Money" }
        high: { $ref: "#/components/schemas/Money" }
        low: { $ref: "#/components/schemas/Money" }
        close: { $ref: "#/components/schemas/Money" }
        volume: { $ref: "#/components/schemas/Money" }
    Candles:
      type: object
      required: [pair, intervalMinutes, candles]
      properties:
        pair: { type: string }
        intervalMinutes: { type: integer }
        candles: { type: array, items: { $ref: "#/components/schemas/Candle" } }
    Performance:
      type: object
      required: [trades, wins, losses, totalPnL, fees, maxDrawdownPercent]
      properties:
        trades: { type: integer }
        wins: { type: integer }
        losses: { type: integer }
        winRatePercent: { type: number }
        totalPnL: { $ref: "#/components/schemas/Money" }
        fees: { $ref: "#/components/schemas/Money" }
        averageWin: { $ref: "#/components/schemas/Money" }
        averageLoss: { $ref: "#/components/schemas/Money" }
        profitFactor: { type: number }
        maxDrawdownPercent: { type: number }
        sharpe: { type: number }
    Strategy:
      type: object
      required: [id, name, kind, pair, intervalMinutes, enabled, parameters, updatedAt]
      properties:
        id: { type: integer }
        name: { type: string }
        kind: { type: string }
        pair: { type: string }
        intervalMinutes: { type: integer }
        enabled: { type: boolean }
        parameters: { type: object, additionalProperties: { type: number } }
        updatedAt: { $ref: "#/components/schemas/Time" }
        stats: { $ref: "#/components/schemas/Performance" }
    Strategies:
      type: object
      required: [strategies]
      properties: { strategies: { type: array, items: { $ref: "#/components/schemas/Strategy" } } }
    PerformanceReport:
      type: object
      required: [mode, startingBalance, strategies, total]
      properties:
        mode: { type: string }
        startingBalance: { $ref: "#/components/schemas/Money" }
        strategies:
          type: array
          items:
            type: object
            required: [strategy, stats]
            properties:
              strategyId: { type: integer }
              strategy: { type: string }
              stats: { $ref: "#/components/schemas/Performance" }
        total: { $ref: "#/components/schemas/Performance" }
    Position:
      type: object
      required: [strategyId, strategy, pair, quantity, averagePrice, openedAt]
      properties:
        strategyId: { type: integer }
        strategy: { type: string }
        pair: { type: string }
        quantity: { $ref: "#/components/schemas/Money" }
        averagePrice: { $ref: "#/components/schemas/Money" }
        markPrice: { $ref: "#/components/schemas/Money" }
        unrealisedPnL: { $ref: "#/components/schemas/Money" }
        unrealisedPercent: { type: number }
        stopLoss: { $ref: "#/components/schemas/Money" }
        takeProfit: { $ref: "#/components/schemas/Money" }
        openedAt: { $ref: "#/components/schemas/Time" }
    Positions:
      type: object
      required: [mode, positions]
      properties:
        mode: { type: string }
        positions: { type: array, items: { $ref: "#/components/schemas/Position" } }
    Trade:
      type: object
      required: [id, pair, status, quantity, entryTime, entryPrice, entryFee]
      properties:
        id: { type: integer }
        strategyId: { type: integer }
        strategy: { type: string }
        pair: { type: string }
        status: { type: string, enum: [open, closed] }
        quantity: { $ref: "#/components/schemas/Money" }
        entryTime: { $ref: "#/components/schemas/Time" }
        entryPrice: { $ref: "#/components/schemas/Money" }
        entryFee: { $ref: "#/components/schemas/Money" }
        exitTime: { $ref: "#/components/schemas/Time" }
        exitPrice: { $ref: "#/components/schemas/Money" }
        exitFee: { $ref: "#/components/schemas/Money" }
        realisedPnL: { $ref: "#/components/schemas/Money" }
        exitReason: { type: string }
    TradesPage:
      type: object
      required: [mode, trades]
      properties:
        mode: { type: string }
        trades: { type: array, items: { $ref: "#/components/schemas/Trade" } }
        nextCursor: { type: string }
    Equity:
      type: object
      required: [mode, stepSeconds, points]
      properties:
        mode: { type: string }
        stepSeconds: { type: integer }
        points:
          type: array
          items:
            type: object
            required: [time, equity, cash, realisedPnL, unrealisedPnL, fees]
            properties:
              time: { $ref: "#/components/schemas/Time" }
              equity: { $ref: "#/components/schemas/Money" }
              cash: { $ref: "#/components/schemas/Money" }
              realisedPnL: { $ref: "#/components/schemas/Money" }
              unrealisedPnL: { $ref: "#/components/schemas/Money" }
              fees: { $ref: "#/components/schemas/Money" }
    Signals:
      type: object
      required: [signals]
      properties:
        signals:
          type: array
          items:
            type: object
            required: [id, strategyId, pair, intervalMinutes, candleTime, action, reason, confidence, price, createdAt]
            properties:
              id: { type: integer }
              strategyId: { type: integer }
              pair: { type: string }
              intervalMinutes: { type: integer }
              candleTime: { $ref: "#/components/schemas/Time" }
              action: { type: string, enum: [enter, exit] }
              reason: { type: string }
              confidence: { type: number }
              price: { $ref: "#/components/schemas/Money" }
              createdAt: { $ref: "#/components/schemas/Time" }
    Orders:
      type: object
      required: [mode, orders]
      properties:
        mode: { type: string }
        orders:
          type: array
          items:
            type: object
            required: [id, clientOrderId, mode, pair, side, quantity, status, filledQuantity, fee, createdAt, updatedAt]
            properties:
              id: { type: integer }
              strategyId: { type: integer }
              clientOrderId: { type: string }
              exchangeOrderId: { type: string }
              mode: { type: string, enum: [paper, validate, live] }
              pair: { type: string }
              side: { type: string, enum: [buy, sell] }
              quantity: { $ref: "#/components/schemas/Money" }
              status: { type: string, enum: [submitting, open, unknown, filled, rejected, canceled, validated, abandoned] }
              filledQuantity: { $ref: "#/components/schemas/Money" }
              averagePrice: { $ref: "#/components/schemas/Money" }
              fee: { $ref: "#/components/schemas/Money" }
              error: { type: string }
              createdAt: { $ref: "#/components/schemas/Time" }
              updatedAt: { $ref: "#/components/schemas/Time" }
    Pause:
      type: object
      required: [paused, by]
      properties:
        paused: { type: boolean }
        by: { type: string }
        at: { $ref: "#/components/schemas/Time" }
"""#
}
