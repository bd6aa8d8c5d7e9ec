import Foundation
import Testing

@testable import CartelCore
import TestSupport

/// Every page in a real headless Chromium against the real `website` process on a seeded
/// database: the seeded figures render, the console stays clean, pause works by clicking and the
/// banner follows a pause made elsewhere live (through `/api/events`). Screenshots of every
/// page at laptop and phone width, light and dark, go to `.build/screenshots/`.
@Suite(.serialized) struct BrowserTests {
    static let password = "correct horse battery"

    @Test(.timeLimit(.minutes(5))) func everyPageRendersTheSeededFiguresAndPauseWorksByClicking() async throws {
        let dir = try TemporaryDirectory(prefix: "browser")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let summary = try await DashboardSeed.seed(
            storage, cycles: 6, extra: [StrategySpec(name: "<b>rsi</b> \"quoted\"", kind: "rsi", pair: "BTC/USD", intervalMinutes: 60)])
        let logs = dir.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try """
            2026-11-26T10:00:00.000Z info trading-engine: starting pid=1 version=\(SignalCartelVersion.current)
            2026-11-26T10:00:01.000Z warning trading-engine: entry refused reason="an order of this strategy is still in flight"
            2026-11-26T10:00:02.000Z error trading-engine: <script>document.title='pwned'</script>

            """.write(toFile: dir.file("logs/trading-engine.log"), atomically: true, encoding: .utf8)

        let port = try ListeningSocket.freePort()
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env["DATABASE_URL"] = "sqlite:\(dir.file("db.sqlite"))"
        env["WEBSITE_PORT"] = "\(port)"
        env["SIGNALCARTEL_LOG_DIR"] = logs
        env["DASHBOARD_PASSWORD"] = Self.password
        let website = try ChildProcess(BuildProducts.path("website"), [], environment: env, stdout: dir.file("logs/website.log"), stderr: dir.file("website.err"))
        defer { website.terminate() }
        let site = "http://127.0.0.1:\(port)"
        for _ in 0..<100 where try await HTTP.get(site + "/api/health").status != 200 { try await Task.sleep(for: .milliseconds(100)) }

        let shots = FileManager.default.currentDirectoryPath + "/.build/screenshots"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let browser = try await WebDriver.start(logFile: dir.file("chromedriver.log"))
        do {
            try await browser.open(site + "/")
            #expect(try await browser.text("h1") == "Log in")
            try await browser.type("input[name=password]", Self.password)
            try await browser.click("button[type=submit]")
            try await waitFor { try await browser.text("h1") == "Overview" }

            // The seeded figures, as the API computes them.
            #expect(try await browser.text("#total-pnl") == Format.money(DecimalText.string(summary.totalPnL)))
            #expect(try await browser.text("#total-winrate")?.hasSuffix("%") == true)
            #expect(try await browser.run("return document.querySelectorAll('#latest-trades tbody tr').length") as? Int == 10)
            #expect(try await browser.run("return document.querySelectorAll('#positions tbody tr').length") as? Int == 1)
            #expect(try await browser.run("return document.querySelectorAll('.card.service').length") as? Int == 3)
            #expect(try await browser.run("return document.querySelector('.chart svg') !== null") as? Bool == true)

            let pages: [(String, String, String)] = [
                ("overview", "/", "Overview"), ("markets", "/markets", "Markets"), ("strategies", "/strategies", "Strategies"),
                ("strategy", "/strategies/1/backtest?p.fast=2&p.slow=4", "sma-cross:BTC/USD:60"), ("trades", "/trades", "Trades"),
                ("logs", "/logs?service=trading-engine&level=info", "Logs"),
            ]
            for (name, path, heading) in pages {
                for (width, height, label) in [(1366, 900, "laptop"), (390, 844, "phone")] {
                    for scheme in ["light", "dark"] {
                        try await browser.resize(width: width, height: height)
                        try await browser.colorScheme(scheme)
                        try await browser.open(site + path)
                        #expect(try await browser.text("h1") == heading, "\(path)")
                        // Times are shown in the browser's zone once the script ran.
                        try await waitFor { try await browser.run("return document.documentElement.dataset.timesLocal === '1'") as? Bool == true }
                        try await browser.screenshot(to: "\(shots)/\(name)-\(label)-\(scheme).png")
                    }
                }
                let errors = try await browser.consoleEntries().filter { $0.level == "SEVERE" || $0.level == "WARNING" }
                #expect(errors.isEmpty, "\(path): \(errors)")
            }
            // Page-specific content.
            try await browser.open(site + "/markets")
            #expect(try await browser.run("return document.querySelectorAll('.chart svg .buy').length") as? Int ?? 0 > 0)
            try await browser.open(site + "/strategies")
            #expect(try await browser.run("return document.querySelector('#strategies').textContent.includes('<b>rsi</b>')") as? Bool == true)
            try await browser.open(site + "/strategies/1/backtest?p.fast=2&p.slow=4")
            #expect(try await browser.run("return document.querySelector('#backtest-result') !== null") as? Bool == true)
            try await browser.open(site + "/logs?service=trading-engine&level=info")
            #expect(try await browser.run("return document.title") as? String == "Logs · SignalCartel")
            #expect(try await browser.text("#log-lines")?.contains("<script>document.title='pwned'</script>") == true)
            try await browser.open(site + "/trades")
            #expect(try await browser.run("return document.querySelectorAll('#trades tbody tr').length") as? Int == summary.trades + 1)

            // Pause by clicking: the banner changes and the database holds it.
            try await browser.resize(width: 1366, height: 900)
            try await browser.open(site + "/")
            #expect(try await browser.text("#pause-button") == "Pause entries")
            try await browser.click("#pause-button")
            try await waitFor { try await browser.text("#pause-button") == "Resume entries" }
            #expect(try await browser.text(".banner")?.contains("new entries PAUSED") == true)
            #expect(try await storage.pauseState().paused)
            try await browser.screenshot(to: "\(shots)/overview-paused.png")

            // Resumed elsewhere (another writer): the open page follows through /api/events.
            try await storage.setPause(PauseState(paused: false, by: "cli", at: Date()))
            try await waitFor(seconds: 15) { try await browser.text("#pause-button") == "Pause entries" }
            #expect(try await browser.consoleEntries().filter { $0.level == "SEVERE" }.isEmpty)
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
    }

    func waitFor(seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("condition not met within \(seconds) s")
    }
}
