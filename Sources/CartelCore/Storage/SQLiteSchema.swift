import GRDB

/// The versioned schema of the SQLite database, documented in `docs/schema.md`.
///
/// Money, prices and volumes are TEXT holding exact decimal strings; times are UTC, stored the
/// GRDB way (`YYYY-MM-DD HH:MM:SS.SSS`, which sorts as text). Never edit a shipped migration:
/// add a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation", migrate: v1)
        migrator.registerMigration("v2-kraken-asset-pairs", migrate: v2)
        migrator.registerMigration("v3-kraken-nonce", migrate: v3)
        migrator.registerMigration("v4-final-candles-and-ledgers-per-mode", migrate: v4)
        migrator.registerMigration("v5-events-and-service-memory", migrate: v5)
        migrator.registerMigration("v6-alert-outbox", migrate: v6)
        migrator.registerMigration("v7-alert-destinations", migrate: v7)
        return migrator
    }

    /// Alerts to several destinations (Telegram and a webhook): `delivered_to` lists those done
    /// with an alert, so a restart sends it only where it had not gone yet. A `skipped` status for
    /// alerts `ALERT_EVENTS` does not select. SQLite cannot change a CHECK constraint in place:
    /// the table is rebuilt, its rows and ids kept, and the triggers that fill it re-created.
    private static func v7(_ db: Database) throws {
        for trigger in ["alerts_order_insert", "alerts_order_status", "alerts_trade_closed", "alerts_trade_inserted_closed",
                        "alerts_pause_insert", "alerts_pause_update"] {
            try db.execute(sql: "DROP TRIGGER \(trigger)")
        }
        try db.execute(sql: """
            CREATE TABLE alert_outbox_v7 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL CHECK (json_valid(payload)),
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                delivered_to TEXT NOT NULL DEFAULT '',
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            );
            INSERT INTO alert_outbox_v7 (id, kind, payload, status, attempts, last_error, created_at, updated_at)
                SELECT id, kind, payload, status, attempts, last_error, created_at, updated_at FROM alert_outbox;
            DROP TABLE alert_outbox;
            ALTER TABLE alert_outbox_v7 RENAME TO alert_outbox;
            CREATE INDEX alert_outbox_status ON alert_outbox (status, id);
            """)
        try db.execute(sql: alertTriggers)
    }

    /// The alert outbox: one row per alert to deliver, written by triggers in the same
    /// transaction as what it reports (an order placed, filled, rejected or of unknown outcome;
    /// a trade closed; pause and resume), or by a service for its own news (started, stopped,
    /// breaker, kill switch, ...). The sender delivers pending rows in id order and records the
    /// outcome on the row.
    private static func v6(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE alert_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL CHECK (json_valid(payload)),
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            );
            CREATE INDEX alert_outbox_status ON alert_outbox (status, id);

            """)
        try db.execute(sql: alertTriggers)
    }

    /// The triggers that put orders, closed trades and pause changes in the outbox (v6; v7
    /// re-creates them unchanged around its rebuild of the table).
    private static let alertTriggers = """
            CREATE TRIGGER alerts_order_insert AFTER INSERT ON orders WHEN NEW.status IN ('submitting', 'open', 'filled', 'rejected', 'unknown') BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('order', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'side', NEW.side,
                    'quantity', NEW.quantity, 'status', CASE NEW.status WHEN 'submitting' THEN 'placed' ELSE NEW.status END,
                    'error', NEW.error, 'reason', (SELECT reason FROM signals WHERE id = NEW.signal_id)), NEW.updated_at, NEW.updated_at);
            END;

            CREATE TRIGGER alerts_order_status AFTER UPDATE OF status ON orders
            WHEN NEW.status != OLD.status AND NEW.status IN ('filled', 'rejected', 'unknown', 'canceled', 'abandoned') BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('order', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'side', NEW.side,
                    'quantity', NEW.quantity, 'filledQuantity', NEW.filled_quantity, 'averagePrice', NEW.average_price, 'fee', NEW.fee,
                    'status', NEW.status, 'error', NEW.error), NEW.updated_at, NEW.updated_at);
            END;

            CREATE TRIGGER alerts_trade_closed AFTER UPDATE OF status ON trades WHEN NEW.status = 'closed' AND OLD.status != 'closed' BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('trade', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'quantity', NEW.quantity,
                    'entryPrice', NEW.entry_price, 'exitPrice', NEW.exit_price, 'entryFee', NEW.entry_fee, 'exitFee', NEW.exit_fee,
                    'pnl', NEW.realized_pnl, 'reason', NEW.exit_reason), COALESCE(NEW.exit_time, NEW.entry_time), COALESCE(NEW.exit_time, NEW.entry_time));
            END;

            CREATE TRIGGER alerts_trade_inserted_closed AFTER INSERT ON trades WHEN NEW.status = 'closed' BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('trade', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'quantity', NEW.quantity,
                    'entryPrice', NEW.entry_price, 'exitPrice', NEW.exit_price, 'entryFee', NEW.entry_fee, 'exitFee', NEW.exit_fee,
                    'pnl', NEW.realized_pnl, 'reason', NEW.exit_reason), COALESCE(NEW.exit_time, NEW.entry_time), COALESCE(NEW.exit_time, NEW.entry_time));
            END;

            CREATE TRIGGER alerts_pause_insert AFTER INSERT ON engine_state WHEN NEW.key = 'paused' AND json_valid(NEW.value) BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('pause', NEW.value, NEW.updated_at, NEW.updated_at);
            END;

            CREATE TRIGGER alerts_pause_update AFTER UPDATE ON engine_state
            WHEN NEW.key = 'paused' AND NEW.value != OLD.value AND json_valid(NEW.value)
                AND json_extract(NEW.value, '$.paused') IS NOT (CASE WHEN json_valid(OLD.value) THEN json_extract(OLD.value, '$.paused') END) BEGIN
                INSERT INTO alert_outbox (kind, payload, created_at, updated_at) VALUES ('pause', NEW.value, NEW.updated_at, NEW.updated_at);
            END;
        """

    /// What the website streams: an `events` journal that triggers fill in the same transaction
    /// as the row they report (signals, orders and their status changes, fills, service state
    /// changes, pause/resume), so an event can neither be lost nor announce something that was
    /// rolled back. Candle events are written by `upsertCandles` (one per batch, not per row).
    /// Heartbeats carry the writer's resident memory.
    private static func v5(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE service_heartbeats ADD COLUMN resident_bytes INTEGER;

            CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('candle', 'signal', 'order', 'fill', 'service', 'pause')),
                payload TEXT NOT NULL CHECK (json_valid(payload)),
                created_at DATETIME NOT NULL
            );
            CREATE INDEX events_created_at ON events (created_at);
            -- Newest-first pages of one mode's trades and orders without sorting the whole table.
            CREATE INDEX trades_mode_id ON trades (mode, id);
            CREATE INDEX orders_mode_id ON orders (mode, id);

            CREATE TRIGGER events_signal AFTER INSERT ON signals WHEN NEW.action != 'hold' BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('signal', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'pair', NEW.pair, 'intervalMinutes', NEW.interval_minutes,
                    'action', NEW.action, 'reason', NEW.reason, 'price', NEW.price,
                    'candleTime', strftime('%Y-%m-%dT%H:%M:%SZ', NEW.candle_time)), NEW.created_at);
            END;

            CREATE TRIGGER events_order_insert AFTER INSERT ON orders BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('order', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'side', NEW.side,
                    'quantity', NEW.quantity, 'status', NEW.status, 'error', NEW.error), NEW.updated_at);
            END;

            CREATE TRIGGER events_order_status AFTER UPDATE OF status ON orders WHEN NEW.status != OLD.status BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('order', json_object(
                    'id', NEW.id, 'strategyId', NEW.strategy_id, 'mode', NEW.mode, 'pair', NEW.pair, 'side', NEW.side,
                    'quantity', NEW.quantity, 'status', NEW.status, 'error', NEW.error), NEW.updated_at);
            END;

            CREATE TRIGGER events_fill AFTER INSERT ON fills BEGIN
                INSERT INTO events (kind, payload, created_at) SELECT 'fill', json_object(
                    'id', NEW.id, 'orderId', NEW.order_id, 'strategyId', o.strategy_id, 'mode', o.mode, 'pair', o.pair,
                    'side', o.side, 'quantity', NEW.quantity, 'price', NEW.price, 'fee', NEW.fee,
                    'time', strftime('%Y-%m-%dT%H:%M:%SZ', NEW.time)), NEW.time
                FROM orders o WHERE o.id = NEW.order_id;
            END;

            CREATE TRIGGER events_service_insert AFTER INSERT ON service_heartbeats BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('service', json_object(
                    'service', NEW.service, 'state', NEW.state, 'pid', NEW.pid, 'host', NEW.host), NEW.last_beat);
            END;

            CREATE TRIGGER events_service_update AFTER UPDATE ON service_heartbeats
            WHEN NEW.state != OLD.state OR NEW.pid != OLD.pid OR NEW.started_at != OLD.started_at BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('service', json_object(
                    'service', NEW.service, 'state', NEW.state, 'pid', NEW.pid, 'host', NEW.host), NEW.last_beat);
            END;

            CREATE TRIGGER events_pause_insert AFTER INSERT ON engine_state WHEN NEW.key = 'paused' BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('pause',
                    CASE WHEN json_valid(NEW.value) THEN NEW.value ELSE json_object('unreadable', NEW.value) END, NEW.updated_at);
            END;

            CREATE TRIGGER events_pause_update AFTER UPDATE ON engine_state WHEN NEW.key = 'paused' AND NEW.value != OLD.value BEGIN
                INSERT INTO events (kind, payload, created_at) VALUES ('pause',
                    CASE WHEN json_valid(NEW.value) THEN NEW.value ELSE json_object('unreadable', NEW.value) END, NEW.updated_at);
            END;
            """)
    }

    /// Candles say whether they are final; each trading mode keeps its own ledger (positions,
    /// trades, equity, cooldowns, starting balance); positions carry their stop-loss and
    /// take-profit; fills keep the exchange's cost; trades add up partial exits.
    private static func v4(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE candles ADD COLUMN closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1));
            UPDATE candles SET closed = 1 WHERE EXISTS (
                SELECT 1 FROM candles AS newer
                WHERE newer.pair = candles.pair AND newer.interval_minutes = candles.interval_minutes
                    AND newer.open_time > candles.open_time);

            ALTER TABLE fills ADD COLUMN cost TEXT;
            ALTER TABLE orders ADD COLUMN entry_atr REAL;

            CREATE TABLE positions_v4 (
                mode TEXT NOT NULL CHECK (mode IN ('paper', 'validate', 'live')),
                strategy_id INTEGER NOT NULL REFERENCES strategies(id),
                pair TEXT NOT NULL,
                quantity TEXT NOT NULL,
                average_price TEXT NOT NULL,
                stop_loss TEXT,
                take_profit TEXT,
                opened_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                PRIMARY KEY (mode, strategy_id, pair)
            );
            INSERT INTO positions_v4 (mode, strategy_id, pair, quantity, average_price, opened_at, updated_at)
                SELECT COALESCE((SELECT o.mode FROM orders o WHERE o.strategy_id = p.strategy_id AND o.status = 'filled'
                                 ORDER BY o.id DESC LIMIT 1), 'paper'),
                       p.strategy_id, p.pair, p.quantity, p.average_price, p.opened_at, p.updated_at
                FROM positions p;
            DROP TABLE positions;
            ALTER TABLE positions_v4 RENAME TO positions;

            ALTER TABLE trades ADD COLUMN mode TEXT NOT NULL DEFAULT 'paper';
            UPDATE trades SET mode = COALESCE((SELECT mode FROM orders WHERE orders.id = trades.entry_order_id), 'paper');
            ALTER TABLE trades ADD COLUMN exit_quantity TEXT NOT NULL DEFAULT '0';
            UPDATE trades SET exit_quantity = quantity WHERE status = 'closed';
            DROP INDEX trades_strategy_status;
            CREATE INDEX trades_mode_strategy_status ON trades (mode, strategy_id, status);

            ALTER TABLE equity_snapshots ADD COLUMN mode TEXT NOT NULL DEFAULT 'paper';
            DROP INDEX equity_snapshots_time;
            CREATE INDEX equity_snapshots_mode_time ON equity_snapshots (mode, time);

            CREATE INDEX orders_mode_strategy ON orders (mode, strategy_id);

            CREATE TABLE ledger_accounts (
                mode TEXT PRIMARY KEY NOT NULL CHECK (mode IN ('paper', 'validate', 'live')),
                quote_asset TEXT NOT NULL,
                starting_balance TEXT NOT NULL,
                holdings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(holdings)),
                after_fill_id INTEGER NOT NULL DEFAULT 0,
                created_at DATETIME NOT NULL
            );

            CREATE TABLE ledger_adjustments (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                mode TEXT NOT NULL CHECK (mode IN ('paper', 'validate', 'live')),
                asset TEXT NOT NULL,
                amount TEXT NOT NULL,
                note TEXT NOT NULL,
                after_fill_id INTEGER NOT NULL,
                created_at DATETIME NOT NULL
            );

            CREATE TABLE strategy_cooldowns (
                mode TEXT NOT NULL,
                strategy_id INTEGER NOT NULL REFERENCES strategies(id),
                until DATETIME NOT NULL,
                PRIMARY KEY (mode, strategy_id)
            );

            CREATE TABLE engine_state (
                key TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL,
                updated_at DATETIME NOT NULL
            );
            """)
    }

    /// The cached `AssetPairs` answer (JSON as Kraken sent it), so pairs resolve while Kraken
    /// is unreachable at start.
    private static func v2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE kraken_asset_pairs (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                body TEXT NOT NULL,
                updated_at DATETIME NOT NULL
            );
            CREATE INDEX candles_interval_time ON candles (interval_minutes, open_time);
            """)
    }

    /// The highest Kraken nonce used (TEXT: an unsigned 64-bit value).
    private static func v3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE kraken_nonce (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                value TEXT NOT NULL
            );
            """)
    }

    private static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE candles (
                pair TEXT NOT NULL,
                interval_minutes INTEGER NOT NULL,
                open_time DATETIME NOT NULL,
                open TEXT NOT NULL,
                high TEXT NOT NULL,
                low TEXT NOT NULL,
                close TEXT NOT NULL,
                vwap TEXT NOT NULL,
                volume TEXT NOT NULL,
                trade_count INTEGER NOT NULL,
                updated_at DATETIME NOT NULL,
                PRIMARY KEY (pair, interval_minutes, open_time)
            ) WITHOUT ROWID;

            CREATE TABLE tickers (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                pair TEXT NOT NULL,
                time DATETIME NOT NULL,
                bid TEXT NOT NULL,
                ask TEXT NOT NULL,
                last TEXT NOT NULL,
                volume_24h TEXT NOT NULL,
                vwap_24h TEXT NOT NULL,
                low_24h TEXT NOT NULL,
                high_24h TEXT NOT NULL,
                open_today TEXT NOT NULL,
                trade_count_24h INTEGER NOT NULL
            );
            CREATE INDEX tickers_pair_time ON tickers (pair, time);

            CREATE TABLE market_data_collection (
                pair TEXT PRIMARY KEY NOT NULL,
                status TEXT NOT NULL,
                data_points INTEGER NOT NULL DEFAULT 0,
                oldest DATETIME,
                newest DATETIME,
                last_error TEXT,
                error_count INTEGER NOT NULL DEFAULT 0,
                last_collected DATETIME
            );

            CREATE TABLE strategies (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                pair TEXT NOT NULL,
                interval_minutes INTEGER NOT NULL,
                parameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),
                enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            );

            CREATE TABLE signals (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                strategy_id INTEGER NOT NULL REFERENCES strategies(id),
                pair TEXT NOT NULL,
                interval_minutes INTEGER NOT NULL,
                candle_time DATETIME NOT NULL,
                action TEXT NOT NULL CHECK (action IN ('enter', 'exit', 'hold')),
                reason TEXT NOT NULL,
                confidence REAL NOT NULL,
                price TEXT NOT NULL,
                created_at DATETIME NOT NULL
            );
            CREATE INDEX signals_strategy_time ON signals (strategy_id, candle_time);

            CREATE TABLE orders (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                strategy_id INTEGER REFERENCES strategies(id),
                signal_id INTEGER REFERENCES signals(id),
                client_order_id TEXT NOT NULL UNIQUE,
                exchange_order_id TEXT,
                userref INTEGER,
                mode TEXT NOT NULL CHECK (mode IN ('paper', 'validate', 'live')),
                pair TEXT NOT NULL,
                side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
                order_type TEXT NOT NULL CHECK (order_type IN ('market', 'limit')),
                quantity TEXT NOT NULL,
                limit_price TEXT,
                status TEXT NOT NULL,
                filled_quantity TEXT NOT NULL DEFAULT '0',
                average_price TEXT,
                fee TEXT NOT NULL DEFAULT '0',
                error TEXT,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL
            );
            CREATE INDEX orders_status ON orders (status);

            CREATE TABLE fills (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                order_id INTEGER NOT NULL REFERENCES orders(id),
                exchange_trade_id TEXT,
                time DATETIME NOT NULL,
                quantity TEXT NOT NULL,
                price TEXT NOT NULL,
                fee TEXT NOT NULL,
                UNIQUE (order_id, exchange_trade_id)
            );

            CREATE TABLE trades (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                strategy_id INTEGER REFERENCES strategies(id),
                pair TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
                quantity TEXT NOT NULL,
                entry_order_id INTEGER REFERENCES orders(id),
                entry_time DATETIME NOT NULL,
                entry_price TEXT NOT NULL,
                entry_fee TEXT NOT NULL,
                exit_order_id INTEGER REFERENCES orders(id),
                exit_time DATETIME,
                exit_price TEXT,
                exit_fee TEXT,
                realized_pnl TEXT,
                exit_reason TEXT
            );
            CREATE INDEX trades_strategy_status ON trades (strategy_id, status);

            CREATE TABLE positions (
                strategy_id INTEGER NOT NULL REFERENCES strategies(id),
                pair TEXT NOT NULL,
                quantity TEXT NOT NULL,
                average_price TEXT NOT NULL,
                opened_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                PRIMARY KEY (strategy_id, pair)
            );

            CREATE TABLE equity_snapshots (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time DATETIME NOT NULL,
                cash TEXT NOT NULL,
                positions_value TEXT NOT NULL,
                equity TEXT NOT NULL,
                realized_pnl TEXT NOT NULL,
                unrealized_pnl TEXT NOT NULL,
                fees TEXT NOT NULL
            );
            CREATE INDEX equity_snapshots_time ON equity_snapshots (time);

            CREATE TABLE service_heartbeats (
                service TEXT PRIMARY KEY NOT NULL,
                pid INTEGER NOT NULL,
                host TEXT NOT NULL,
                version TEXT NOT NULL,
                started_at DATETIME NOT NULL,
                last_beat DATETIME NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
                detail TEXT,
                interval_seconds INTEGER NOT NULL
            );
            """)
    }
}
