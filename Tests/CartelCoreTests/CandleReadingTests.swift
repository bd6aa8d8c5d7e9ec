@testable import CartelCore
import Foundation
import TestSupport
import Testing

/// The byte-level CSV reader and the database's analysis read: the same candles, checks and
/// messages as the exact path, on every shape of input a file can have.
@Suite struct CandleReadingTests {
    static let header = "time,open,high,low,close,volume"

    func analysis(_ text: String) throws -> [StrategyCandle] { try CandleCSV.parseForAnalysis(text) }

    func error(_ text: String) -> String? {
        do {
            _ = try CandleCSV.parseForAnalysis(text)
            return nil
        } catch {
            // The exact reader must fail the same way.
            let exact = #expect(throws: CandleCSV.ParseError.self) { try CandleCSV.parse(text, pair: "X/Y", intervalMinutes: 1) }
            #expect(exact?.description == "\(error)")
            return "\(error)"
        }
    }

    @Test func quotedFieldsAByteOrderMarkCRLFAndBlankLinesAreAccepted() throws {
        let text = "\u{FEFF}\"Time\",\"Open\",High,Low,Close,Volume,\"Note, with comma\"\r\n"
            + "\r\n"
            + "\"2024-01-01T00:00:00Z\",\"100.5\", 101 ,99,100,\"2\",\"said \"\"hi\"\"\"\r\n"
            + "  \t  \r\n"
            + "1704067260,100,102,100,101.25,3.5,\"two\nlines\"\r\n"
        let candles = try analysis(text)
        #expect(candles.count == 2)
        #expect(candles[0] == StrategyCandle(time: Date(timeIntervalSince1970: 1_704_067_200), open: 100.5, high: 101, low: 99, close: 100, volume: 2))
        #expect(candles[1].close == 101.25)
        #expect(candles[1].time == Date(timeIntervalSince1970: 1_704_067_260))
        let exact = try CandleCSV.parse(text, pair: "X/Y", intervalMinutes: 1)
        #expect(exact.map(\.open) == [Decimal(string: "100.5")!, 100])
        #expect(exact[1].vwap == (Decimal(102) + 100 + Decimal(string: "101.25")!) / 3)
    }

    @Test func errorsNameTheLineAsAnEditorCountsIt() {
        #expect(error("\(Self.header)\n\n1,1,1,1,1,1\n\n1,1,1,1,x,1\n") == "line 5: close 'x' is not a decimal number")
        #expect(error("\(Self.header)\r\n1,1,1,1,1,1\r\n1,2,1,1\r\n") == "line 3: expected 6 fields, found 4")
        #expect(error("\(Self.header),note\n1,1,1,1,1,1,\"a\nb\"\n2,1,1,1,1,\"1e5\",x\n") == "line 4: volume '1e5' is not a decimal number")
        #expect(error("\(Self.header)\n1,1,1,1,1,\"1\n") == "line 2: a quoted field is never closed")
        #expect(error("\(Self.header)\n1,1,1,1,1,\"1\"x\n") == "line 2: unexpected text after a closing quote")
        #expect(error("\(Self.header)\n2024-02-30,1,1,1,1,1\n") == "line 2: time '2024-02-30' is neither Unix seconds nor ISO 8601")
        #expect(error("\u{FEFF}") == "line 1: the file is empty")
        #expect(error("open,high\n") == "line 1: header has no time/date/timestamp/datetime column")
    }

    @Test func theBracketCheckIsExactBeyondDoublePrecision() {
        // 1.00000000000000001 and 1 are the same double; as decimals the low is above the open.
        #expect(error("\(Self.header)\n1,1,2,1.00000000000000001,1.5,1\n") == "line 2: low/high do not bracket open and close")
        #expect(error("\(Self.header)\n1,1.5,1.99999999999999999,1,1.5,1\n") == nil)
        #expect(error("\(Self.header)\n1,2,1.99999999999999999,1,1.5,1\n") == "line 2: low/high do not bracket open and close")
        // Equal at different scales, negative values, and more digits than 64 bits hold.
        #expect(error("\(Self.header)\n1,1.50,1.5,1.500,1.5000,1\n") == nil)
        #expect(error("\(Self.header)\n1,-1,-0.5,-1.0,-0.75,1\n") == nil)
        #expect(error("\(Self.header)\n1,123456789012345678901.5,123456789012345678901.5,123456789012345678901.4,123456789012345678901.5,1\n") == nil)
        #expect(error("\(Self.header)\n1,123456789012345678901.3,123456789012345678901.5,123456789012345678901.4,123456789012345678901.5,1\n")
            == "line 2: low/high do not bracket open and close")
    }

    @Test func decimalsReadAsTheNearestDoubleAndTheExactDecimal() throws {
        var state: UInt64 = 0xC0FFEE
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        for _ in 0..<5_000 {
            let digits = String(next() % 10_000_000_000_000)
            let scale = Int(next() % 12)
            var text = digits
            if scale > 0 {
                text = String(repeating: "0", count: max(0, scale - digits.count + 1)) + digits
                text.insert(".", at: text.index(text.endIndex, offsetBy: -scale))
            }
            if next() % 4 == 0 { text = "-" + text }
            var bytes = Array(text.utf8)
            let scanned = try #require(bytes.withUnsafeMutableBufferPointer { ScannedDecimal(UnsafeBufferPointer($0)) })
            #expect(scanned.double == Double(text), "\(text)")
            #expect(scanned.decimal(text: text) == DecimalText.parse(text), "\(text)")
        }
        for bad in ["", "-", ".", "1.2.3", "1e5", "+1", " 1", "NaN", "1,5", "--1"] {
            var bytes = Array(bad.utf8)
            #expect(bytes.withUnsafeMutableBufferPointer { ScannedDecimal(UnsafeBufferPointer($0)) } == nil, "\(bad)")
            #expect(DecimalText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func theFastTimeReaderAgreesWithTheGeneralOne() {
        let samples = [
            "1704067200", "0", "2024-01-01", "2024-02-29", "2023-02-29", "2024-13-01", "2024-01-01T00:00:00Z",
            "2024-01-01 23:59:59", "2024-01-01T24:00:00", "2024-06-30T12:34:56.789Z", "2024-06-30 12:34:56.5",
            "1969-12-31T23:59:59Z", "2000-03-01", "2100-02-28T01:02:03", "2024-01-01T00:00:00+02:00",
            "1704067200.5", "yesterday", "2024-1-1", "2024-01-01T00:00", "2024-01-01T00:00:00.Z",
        ]
        for sample in samples {
            var bytes = Array(sample.utf8)
            let fast = bytes.withUnsafeMutableBufferPointer { ScannedTime.seconds(UnsafeBufferPointer($0)) }
            let general = CandleCSV.parseTime(sample)?.timeIntervalSince1970
            if let fast {
                #expect(abs(fast - (general ?? .nan)) < 1e-6, "\(sample): \(fast) vs \(String(describing: general))")
            }
            // Whatever the fast reader leaves, the row reader hands to the general one.
            let row = try? analysis("\(Self.header)\n\(sample),1,1,1,1,1\n").first?.time.timeIntervalSince1970
            #expect(row.map { abs($0 - (general ?? .nan)) < 1e-6 } ?? (general == nil), "\(sample)")
        }
    }

    @Test func theAnalysisReaderGivesTheExactReadersCandlesAsDoubles() throws {
        var rows = [Self.header + ",vwap"]
        var price = 30_000.0
        for index in 0..<2_000 {
            price += index % 7 < 4 ? 12.37 : -9.81
            let p = (price * 100).rounded() / 100
            rows.append("\(1_700_000_000 + index * 60),\(p),\(p + 5.5),\(p - 4.25),\(p),0.0\(index % 97 + 1),\(p)")
        }
        let text = rows.joined(separator: "\n")
        let fast = try analysis(text)
        let exact = try CandleCSV.parse(text, pair: "X/Y", intervalMinutes: 1)
        #expect(fast.count == exact.count)
        for (a, b) in zip(fast, exact) {
            #expect(a.time == b.openTime)
            #expect(a.open == Double("\(b.open)") && a.high == Double("\(b.high)") && a.low == Double("\(b.low)"))
            #expect(a.close == Double("\(b.close)") && a.volume == Double("\(b.volume)"))
        }
    }

    @Test func aFileReadInPiecesAtOnceGivesTheSameCandlesAndTheSameErrorLines() throws {
        var rows = [Self.header]
        for index in 0..<3_000 {
            rows.append(index % 10 == 3 ? "" : "\(1_700_000_000 + index * 60),\(100 + index % 13).5,120,90,\(100 + index % 7),1")
        }
        for separator in ["\n", "\r\n"] {
            let text = rows.joined(separator: separator)
            let whole = try CandleCSV.parseForAnalysis(text)
            #expect(whole.count == 2_700)
            for jobs in [2, 3, 7] {
                #expect(try CandleCSV.parseForAnalysis(text, jobs: jobs, minimumChunkBytes: 64) == whole)
                // A bad row in any piece is named by its line in the whole file.
                for bad in [2_950, 1_500, 12] {
                    var broken = rows
                    broken[bad] = "\(1_700_000_000 + bad * 60),1,1,1,oops,1"
                    let error = #expect(throws: CandleCSV.ParseError.self) {
                        try CandleCSV.parseForAnalysis(broken.joined(separator: separator), jobs: jobs, minimumChunkBytes: 64)
                    }
                    #expect(error?.line == bad + 1, "jobs \(jobs), row \(bad)")
                }
            }
            // Quotes may hide line breaks: such a file is read in one piece, still right.
            let quoted = text + separator + "\"1700999999\",1,1,1,1,1"
            #expect(try CandleCSV.parseForAnalysis(quoted, jobs: 3, minimumChunkBytes: 64).count == 2_701)
        }
    }

    @Test func theDatabaseAnalysisReadIsTheClosedCandlesWithinTheRange() async throws {
        let dir = try TemporaryDirectory(prefix: "analysis-read")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let candles = ZigzagCandles.make(count: 500, start: start).map { candle in
            var candle = candle
            candle.close += Decimal(string: "0.125")!
            candle.volume = Decimal(string: "0.00000001")!
            return candle
        }
        // The last candle is still open: analysis reads final candles only.
        try await storage.upsertCandles(candles, closedBefore: candles.last!.openTime, at: start)
        let all = try await storage.closedAnalysisCandles(pair: "BENCH/USD", intervalMinutes: 1, from: nil, to: nil)
        #expect(all.count == 499)
        #expect(all == candles.dropLast().map { candle in
            StrategyCandle(
                time: candle.openTime, open: Double("\(candle.open)")!, high: Double("\(candle.high)")!, low: Double("\(candle.low)")!,
                close: Double("\(candle.close)")!, volume: 1e-8)
        })
        // Read in one slice or in several at once: the same candles, in order, none twice.
        for jobs in [1, 3, 7] {
            #expect(try await storage.closedAnalysisCandles(pair: "BENCH/USD", intervalMinutes: 1, from: nil, to: nil, jobs: jobs) == all)
            let window = try await storage.closedAnalysisCandles(
                pair: "BENCH/USD", intervalMinutes: 1, from: start.addingTimeInterval(600), to: start.addingTimeInterval(1200), jobs: jobs)
            #expect(window.map(\.time) == (10...20).map { start.addingTimeInterval(Double($0 * 60)) })
        }
        #expect(try await storage.closedAnalysisCandles(pair: "BENCH/USD", intervalMinutes: 5, from: nil, to: nil).isEmpty)
    }
}

/// `indicators` in batches: the same bytes as one batch, and a bad row named by its line.
@Suite struct IndicatorBatchTests {
    static func output(_ csv: String, batchBytes: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ind-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outPath = path + ".out"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let descriptor = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(descriptor >= 0)
        var output = ByteOutput(descriptor: descriptor)
        defer { close(descriptor) }
        try IndicatorsOptions.write(
            csv: path, specs: [.rsi(14), .macd(fast: 3, slow: 6, signal: 4), .sma(5)], to: &output, batchBytes: batchBytes)
        try output.flush()
        return try String(contentsOfFile: outPath, encoding: .utf8)
    }

    @Test func smallBatchesWriteTheSameBytesAsOneBatch() throws {
        var rows = ["time,open,high,low,close,volume"]
        for index in 0..<1_500 {
            let close = 100 + 10 * sin(Double(index) / 9)
            let time = UTCTime.iso8601(Date(timeIntervalSince1970: 1_704_067_200 + Double(index * 60)), fractional: false)
            rows.append(index % 100 == 7 ? "" : "\(time),\(close),\(close + 1),\(close - 1),\(close),1")
        }
        let csv = rows.joined(separator: "\n") + "\n"
        let whole = try Self.output(csv, batchBytes: 1 << 30)
        #expect(whole.split(separator: "\n").count == 1 + 1_485)
        #expect(try Self.output(csv, batchBytes: 100) == whole)
        #expect(try Self.output(csv, batchBytes: 4_096) == whole)
        var broken = rows
        broken[1_200] = "2024-01-01T00:00:00Z,1,1,1,x,1"
        let error = #expect(throws: (any Error).self) { try Self.output(broken.joined(separator: "\n"), batchBytes: 4_096) }
        #expect("\(String(describing: error))".contains("line 1201: close 'x' is not a decimal number"), "\(String(describing: error))")
    }
}
