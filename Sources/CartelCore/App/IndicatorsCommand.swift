import ArgumentParser
import Foundation

/// Options and work of `trading-engine indicators`: indicator values for each row of a candle
/// CSV, written as CSV (a column is empty until its indicator is warm).
public struct IndicatorsOptions: ParsableArguments {
    @Option(help: "OHLCV CSV: header naming time (or date), open, high, low, close, volume.")
    public var csv: String

    @Option(name: .customLong("indicator"), help: "An indicator to compute; repeat for several.")
    public var indicators: [String] = []

    public init() {}

    public func run() throws {
        let specs: [IndicatorSpec]
        do {
            specs = try indicators.map(IndicatorSpec.parse)
        } catch {
            throw ValidationError("\(error)")
        }
        guard !specs.isEmpty else { throw ValidationError("name at least one --indicator") }
        var output = ByteOutput()
        try Self.write(csv: csv, specs: specs, to: &output)
        try output.flush()
    }

    /// Reads `csv` and writes `time,<columns>` then one line per row, time as the file wrote it.
    /// The indicators run in order over the whole file; the text is then made in batches of
    /// rows, each batch cut into one piece per core formatted at once and written in order.
    static func write(csv: String, specs: [IndicatorSpec], to output: inout ByteOutput) throws {
        var set = IndicatorSet(specs)
        try output.append("time," + set.columns.joined(separator: ",") + "\n")
        let width = set.columns.count
        do {
            try CandleCSV.withContents(of: csv) { bytes in
                let rows = try CandleCSV.analysisRows(bytes, keepTimeText: true)
                var values: [Double?] = []
                values.reserveCapacity(rows.candles.count * width)
                for candle in rows.candles {
                    set.update(high: candle.high, low: candle.low, close: candle.close, volume: candle.volume) { values.append($0) }
                }
                let computed = values
                let shared = CandleCSV.SharedBytes(buffer: bytes)
                let jobs = ProcessInfo.processInfo.activeProcessorCount
                let batch = 131_072
                for batchStart in stride(from: 0, to: rows.candles.count, by: batch) {
                    let batchEnd = min(batchStart + batch, rows.candles.count)
                    let step = (batchEnd - batchStart + jobs - 1) / jobs
                    let pieces = parallelMap(jobs, jobs: jobs) { piece -> [UInt8] in
                        var text = ByteOutput(descriptor: -1)
                        let start = batchStart + piece * step
                        for row in start..<min(start + step, batchEnd) {
                            text.collect(UnsafeBufferPointer(rebasing: shared.buffer[rows.timeText[row]]))
                            for column in 0..<width {
                                text.append(byte: UInt8(ascii: ","))
                                if let value = computed[row * width + column] { value.write(to: &text) }
                            }
                            text.append(byte: UInt8(ascii: "\n"))
                        }
                        return text.buffer
                    }
                    for piece in pieces { try piece.withUnsafeBufferPointer { try output.append($0) } }
                }
            }
        } catch let error as CandleCSV.ParseError {
            throw ValidationError("\(csv): \(error)")
        }
    }
}
