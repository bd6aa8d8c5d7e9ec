import Foundation
import Testing

@testable import CartelCore
import TestSupport

/// `POST /api/pause` stores the pause in the database; the engine reads it before every entry.
@Suite struct PauseTests {
    typealias T = TradingEngineTests

    @Test func aPausedEngineEntersNothingButStillExitsAndResumes() async throws {
        let dir = try TemporaryDirectory(prefix: "pause")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let engine = try T.engine(storage)
        try await engine.start()
        // Candles 0...6 open a position (the sma-cross enters at candle 6).
        for index in 0...6 { try await engine.onClosedCandle(T.candle(index, close: T.closes[index])) }
        #expect(await engine.currentLedger.positions.count == 1)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)

        // Paused by another process (the website): the exit still runs.
        try await storage.setPause(PauseState(paused: true, by: "website", at: T.start))
        for index in 7...13 { try await engine.onClosedCandle(T.candle(index, close: T.closes[index])) }
        #expect(await engine.currentLedger.positions.isEmpty)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell' AND status = 'filled'") == 1)

        // A fresh cross-up while paused: its signal is stored, no order is placed.
        let rising: [Decimal] = [4, 3, 2, 3, 5, 8, 12]
        for (offset, close) in rising.enumerated() { try await engine.onClosedCandle(T.candle(14 + offset, close: close)) }
        #expect(try T.count(path, "SELECT COUNT(*) FROM signals WHERE action = 'enter'") == 2)
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)
        #expect(await engine.currentLedger.positions.isEmpty)
        #expect(try await storage.pauseState().paused)

        // The pause survives a new process; resumed, the next cross-up enters again.
        let reopened = try SQLiteStorage(path: path)
        #expect(try await reopened.pauseState() == PauseState(paused: true, by: "website", at: T.start))
        try await reopened.setPause(PauseState(paused: false, by: "website", at: T.start.addingTimeInterval(60)))
        let again: [Decimal] = [10, 8, 6, 4, 5, 9, 14]
        for (offset, close) in again.enumerated() { try await engine.onClosedCandle(T.candle(21 + offset, close: close)) }
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 2)
        #expect(await engine.currentLedger.positions.count == 1)
        // Each change is one `pause` event, in the same transaction as the state.
        #expect(try T.count(path, "SELECT COUNT(*) FROM events WHERE kind = 'pause'") == 2)
    }

    @Test func anUnreadablePauseValueKeepsEntriesOff() async throws {
        let dir = try TemporaryDirectory(prefix: "pause")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        #expect(try await storage.pauseState().paused == false)
        try await storage.setEngineState(PauseState.key, "{\"paused\":\"maybe\"}", at: T.start)
        #expect(try await storage.pauseState().paused)
    }
}
