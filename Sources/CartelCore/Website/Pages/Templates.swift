/// The dashboard's mustache templates (compiled into the binary: a release binary copied to a
/// server needs no template files beside it). `{{name}}` is HTML-escaped; only SVG the chart
/// renderer built (which escapes its own text) is inserted raw with `{{{…}}}`.
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "banner": banner, "overview": overview, "markets": markets, "strategies": strategies,
        "strategy": strategy, "trades": trades, "logs": logs, "login": login, "error": error, "tradeRows": tradeRows,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>{{title}} · SignalCartel</title>
        <link rel="stylesheet" href="/static/app.css">
        <script src="/static/app.js" defer></script>
        </head>
        <body>
        <header class="top">
        <a class="brand" href="/">SignalCartel</a>
        <nav>{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}</nav>
        <span id="live-status" class="live-off"></span>
        {{#csrf}}<form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">Log out</button></form>{{/csrf}}
        </header>
        {{#banner}}{{> banner}}{{/banner}}
        <main id="{{mainID}}">
        {{{body}}}
        </main>
        <footer class="muted">SignalCartel {{version}} · times in UTC until your browser converts them</footer>
        </body>
        </html>
        """

    static let banner = """
        <section class="banner mode-{{mode}}{{#paused}} paused{{/paused}}" id="banner">
        <div><strong class="mode">{{modeLabel}}</strong> trading{{#paused}} · <strong class="paused-label">new entries PAUSED</strong>{{#pausedBy}} by {{pausedBy}}{{/pausedBy}}{{#pausedAt}} since <time datetime="{{pausedAt}}">{{pausedAt}}</time>{{/pausedAt}} (exits still run){{/paused}}{{^paused}} · entries running{{/paused}}</div>
        {{#canChange}}<form method="post" action="{{#paused}}/resume{{/paused}}{{^paused}}/pause{{/paused}}">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="next" value="{{here}}">
        <button type="submit" id="pause-button" class="{{#paused}}primary{{/paused}}{{^paused}}danger{{/paused}}">{{#paused}}Resume entries{{/paused}}{{^paused}}Pause entries{{/paused}}</button>
        </form>{{/canChange}}
        {{^canChange}}<span class="muted">read-only: set DASHBOARD_PASSWORD to pause from here</span>{{/canChange}}
        </section>
        """

    static let tradeRows = """
        {{#trades}}<tr><td class="num">{{id}}</td><td>{{strategy}}</td><td>{{pair}}</td><td>{{status}}</td><td class="num">{{quantity}}</td>
        <td><time datetime="{{entryTime}}">{{entryTime}}</time></td><td class="num">{{entryPrice}}</td>
        <td>{{#exitTime}}<time datetime="{{exitTime}}">{{exitTime}}</time>{{/exitTime}}</td><td class="num">{{exitPrice}}</td>
        <td class="num {{pnlClass}}">{{pnl}}</td><td>{{reason}}</td></tr>
        {{/trades}}
        """

    static let tradeHead = """
        <tr><th>#</th><th>Strategy</th><th>Pair</th><th>Status</th><th>Quantity</th><th>Entry</th><th>Entry price</th><th>Exit</th><th>Exit price</th><th>P&amp;L</th><th>Reason</th></tr>
        """

    static let overview = """
        <h1>Overview</h1>
        <div class="cards">
        {{#services}}<article class="card service" data-service="{{name}}">
        <h3>{{name}} <span class="badge state-{{state}}">{{state}}</span></h3>
        <dl><dt>Uptime</dt><dd>{{uptime}}</dd><dt>Memory</dt><dd>{{memory}}</dd><dt>Last heartbeat</dt><dd>{{#lastBeat}}<time datetime="{{lastBeat}}">{{lastBeat}}</time>{{/lastBeat}}{{^lastBeat}}never{{/lastBeat}}</dd><dt>PID</dt><dd>{{pid}}{{#host}} on {{host}}{{/host}}</dd></dl>
        <p class="log-line muted" title="last log line">{{lastLog}}</p>
        </article>{{/services}}
        </div>
        <section class="totals">
        <div class="stat"><span class="value" id="total-equity">{{equity}}</span><span class="label">Equity</span></div>
        <div class="stat"><span class="value {{pnlClass}}" id="total-pnl">{{pnl}}</span><span class="label">Realised P&amp;L (net)</span></div>
        <div class="stat"><span class="value" id="total-winrate">{{winRate}}</span><span class="label">Win rate ({{tradeCount}} trades)</span></div>
        <div class="stat"><span class="value" id="total-fees">{{fees}}</span><span class="label">Fees</span></div>
        <div class="stat"><span class="value" id="total-drawdown">{{drawdown}}</span><span class="label">Max drawdown</span></div>
        </section>
        <h2>Equity</h2>
        <div class="chart">{{{equityChart}}}</div>
        <h2>Open positions</h2>
        {{#hasPositions}}<div class="table-wrap"><table class="data" id="positions"><thead><tr><th>Strategy</th><th>Pair</th><th>Quantity</th><th>Entry</th><th>Mark</th><th>Unrealised P&amp;L</th><th>Stop-loss</th><th>Take-profit</th><th>Opened</th></tr></thead><tbody>
        {{#positions}}<tr><td>{{strategy}}</td><td>{{pair}}</td><td class="num">{{quantity}}</td><td class="num">{{averagePrice}}</td><td class="num">{{mark}}</td><td class="num {{pnlClass}}">{{pnl}}</td><td class="num">{{stopLoss}}</td><td class="num">{{takeProfit}}</td><td><time datetime="{{openedAt}}">{{openedAt}}</time></td></tr>
        {{/positions}}</tbody></table></div>{{/hasPositions}}
        {{^hasPositions}}<p class="muted">No open positions.</p>{{/hasPositions}}
        <h2>Latest trades</h2>
        {{#hasTrades}}<div class="table-wrap"><table class="data" id="latest-trades"><thead>\(tradeHead)</thead><tbody>{{> tradeRows}}</tbody></table></div>
        <p><a href="/trades">All trades →</a></p>{{/hasTrades}}
        {{^hasTrades}}<p class="muted">No trades yet.</p>{{/hasTrades}}
        """

    static let markets = """
        <h1>Markets</h1>
        <nav class="pills">{{#series}}<a href="/markets?pair={{pairQuery}}&amp;interval={{interval}}"{{#current}} aria-current="page"{{/current}}>{{pair}} · {{intervalLabel}}</a>{{/series}}</nav>
        {{#chart}}<h2>{{pair}} · {{intervalLabel}}</h2>
        <p class="muted">{{candleCount}} candles{{#strategies}} · {{.}}{{/strategies}}{{#last}} · last close {{last}}{{/last}}</p>
        <div class="chart">{{{svg}}}</div>{{/chart}}
        {{^chart}}<p class="muted">No candles stored yet: start market-data (or the engine in minimal mode).</p>{{/chart}}
        <h2>Collection</h2>
        <div class="table-wrap"><table class="data" id="collection"><thead><tr><th>Pair</th><th>Status</th><th>Last price</th><th>Candles</th><th>Last collected</th><th>Errors</th><th>Last error</th></tr></thead><tbody>
        {{#markets}}<tr><td>{{pair}}</td><td><span class="badge state-{{statusClass}}">{{status}}</span></td><td class="num">{{last}}</td><td class="num">{{candles}}</td><td>{{#lastCollected}}<time datetime="{{lastCollected}}">{{lastCollected}}</time>{{/lastCollected}}</td><td class="num">{{errorCount}}</td><td class="error-text">{{lastError}}</td></tr>
        {{/markets}}</tbody></table></div>
        """

    static let strategies = """
        <h1>Strategies</h1>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        <div class="table-wrap"><table class="data" id="strategies"><thead><tr><th>Name</th><th>Kind</th><th>Pair</th><th>Interval</th><th>State</th><th>Parameters</th><th>Trades</th><th>Win rate</th><th>P&amp;L</th><th>Max DD</th><th></th></tr></thead><tbody>
        {{#strategies}}<tr><td><a href="/strategies/{{id}}">{{name}}</a></td><td>{{kind}}</td><td>{{pair}}</td><td>{{interval}}</td><td><span class="badge state-{{stateClass}}">{{state}}</span></td><td><code>{{parameters}}</code></td><td class="num">{{trades}}</td><td class="num">{{winRate}}</td><td class="num {{pnlClass}}">{{pnl}}</td><td class="num">{{drawdown}}</td>
        <td>{{#canChange}}<form method="post" action="/strategies/{{id}}/{{toggleAction}}" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{toggleLabel}}</button></form>{{/canChange}}</td></tr>
        {{/strategies}}</tbody></table></div>
        {{^strategies}}<p class="muted">No strategies: set STRATEGIES in .env and start the trading engine.</p>{{/strategies}}
        """

    static let strategy = """
        <p><a href="/strategies">← Strategies</a></p>
        <h1>{{name}}</h1>
        <p class="muted">{{kind}} on {{pair}} every {{interval}} · <span class="badge state-{{stateClass}}">{{state}}</span> · changed <time datetime="{{updatedAt}}">{{updatedAt}}</time></p>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        <section class="totals">
        <div class="stat"><span class="value">{{trades}}</span><span class="label">Trades</span></div>
        <div class="stat"><span class="value">{{winRate}}</span><span class="label">Win rate</span></div>
        <div class="stat"><span class="value {{pnlClass}}">{{pnl}}</span><span class="label">P&amp;L</span></div>
        <div class="stat"><span class="value">{{drawdown}}</span><span class="label">Max drawdown</span></div>
        </section>
        <h2>Parameters</h2>
        <form method="post" action="/strategies/{{id}}" class="params" id="parameters-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#fields}}<label>{{name}} <input name="p.{{name}}" value="{{value}}" inputmode="decimal" placeholder="{{placeholder}}"><small class="muted">{{help}}</small></label>
        {{/fields}}
        <label class="check"><input type="checkbox" name="enabled" value="1"{{#enabled}} checked{{/enabled}}> enabled</label>
        {{#canChange}}<button type="submit" class="primary">Save</button>{{/canChange}}
        {{^canChange}}<p class="muted">Read-only: set DASHBOARD_PASSWORD to change strategies here.</p>{{/canChange}}
        <button type="submit" formmethod="get" formaction="/strategies/{{id}}/backtest">Backtest these parameters on stored candles</button>
        </form>
        {{#backtest}}<h2 id="backtest">Backtest on stored candles</h2>
        <p class="muted">{{candles}} final candles of {{pair}} from <time datetime="{{from}}">{{from}}</time> to <time datetime="{{to}}">{{to}}</time>, parameters <code>{{parameters}}</code></p>
        <section class="totals" id="backtest-result">
        <div class="stat"><span class="value">{{trades}}</span><span class="label">Trades</span></div>
        <div class="stat"><span class="value">{{winRate}}</span><span class="label">Win rate</span></div>
        <div class="stat"><span class="value {{pnlClass}}">{{pnl}}</span><span class="label">P&amp;L</span></div>
        <div class="stat"><span class="value">{{fees}}</span><span class="label">Fees</span></div>
        <div class="stat"><span class="value">{{drawdown}}</span><span class="label">Max drawdown</span></div>
        <div class="stat"><span class="value">{{sharpe}}</span><span class="label">Sharpe</span></div>
        </section>{{#note}}<p class="muted">{{note}}</p>{{/note}}{{/backtest}}
        """

    static let trades = """
        <h1>Trades</h1>
        <form method="get" action="/trades" class="filters">
        <label>Strategy <select name="strategy"><option value="">all</option>{{#strategyOptions}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/strategyOptions}}</select></label>
        <label>Pair <input name="pair" value="{{pair}}" placeholder="BTC/USD"></label>
        <label>From <input name="from" value="{{from}}" placeholder="2026-11-01"></label>
        <label>To <input name="to" value="{{to}}" placeholder="2026-11-30"></label>
        <button type="submit">Filter</button> <a href="/api/trades.csv{{csvQuery}}" download>Download CSV</a>
        </form>
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        {{#hasTrades}}<div class="table-wrap"><table class="data" id="trades"><thead>\(tradeHead)</thead><tbody>{{> tradeRows}}</tbody></table></div>{{/hasTrades}}
        {{^hasTrades}}<p class="muted">No trades match.</p>{{/hasTrades}}
        <nav class="pagination">{{#first}}<a href="{{first}}">← Newest</a>{{/first}} {{#next}}<a href="{{next}}" rel="next">Older →</a>{{/next}}</nav>
        """

    static let logs = """
        <h1>Logs</h1>
        <nav class="pills">{{#services}}<a href="/logs?service={{name}}&amp;level={{level}}"{{#current}} aria-current="page"{{/current}}>{{name}}</a>{{/services}}</nav>
        <form method="get" action="/logs" class="filters"><input type="hidden" name="service" value="{{service}}">
        <label>Level at least <select name="level">{{#levels}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/levels}}</select></label>
        <button type="submit">Show</button></form>
        <p class="muted">The newest {{count}} lines of {{path}}</p>
        <pre class="log" id="log-lines">{{#lines}}<span class="lvl-{{level}}">{{#time}}<time datetime="{{time}}">{{time}}</time> {{/time}}{{levelText}} {{text}}</span>
        {{/lines}}</pre>
        {{^lines}}<p class="muted">No lines (yet) at this level.</p>{{/lines}}
        """

    static let login = """
        <section class="login">
        <h1>Log in</h1>
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        <form method="post" action="/login">
        <input type="hidden" name="next" value="{{next}}">
        <label>Password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
        <button type="submit" class="primary">Log in</button>
        </form>
        </section>
        """

    static let error = """
        <h1>{{status}}</h1>
        <p class="error">{{message}}</p>
        <p><a href="/">Back to the overview</a></p>
        """
}
