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
        return migrator
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
