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
    /// The file is taken in batches of about 8 MiB: each batch's rows are read in one piece per
    /// core, the indicators run over them in order, and their text is made in one piece per
    /// core and written in order. Beside the file itself (read whole), memory stays bounded by
    /// the batch.
    /// A bad row stops the command before any output past the batch before it.
    static func write(csv: String, specs: [IndicatorSpec], to output: inout ByteOutput, batchBytes: Int = 8 << 20) throws {
        var set = IndicatorSet(specs)
        try output.append("time," + set.columns.joined(separator: ",") + "\n")
        let width = set.columns.count
        let jobs = ProcessInfo.processInfo.activeProcessorCount
        do {
            try CandleCSV.withContents(of: csv) { bytes in
                let header = try CandleCSV.analysisHeader(bytes)
                // A quoted field may hold a line break: such a file is one batch.
                let quoted = memchr(bytes.baseAddress! + header.start, Int32(UInt8(ascii: "\"")), bytes.count - header.start) != nil
                var start = header.start, line = header.line
                var values: [Double?] = []
                while start < bytes.count {
                    var end = quoted ? bytes.count : min(start + batchBytes, bytes.count)
                    while end < bytes.count, bytes[end - 1] != UInt8(ascii: "\n") { end += 1 }
                    let (parts, lines) = try CandleCSV.analysisPieces(
                        bytes, in: start..<end, firstLine: line, columns: header.columns, keepTimeText: true, jobs: jobs,
                        minimumChunkBytes: 1 << 20)
                    start = end
                    line += lines
                    // The indicators in file order over every part; then each part's text at once.
                    var offsets: [Int] = []
                    values.removeAll(keepingCapacity: true)
                    for part in parts {
                        offsets.append(values.count)
                        for candle in part.candles {
                            set.update(high: candle.high, low: candle.low, close: candle.close, volume: candle.volume) { values.append($0) }
                        }
                    }
                    let computed = values, starts = offsets
                    let shared = CandleCSV.SharedBytes(buffer: bytes)
                    let pieces = parallelMap(parts.count, jobs: jobs) { index -> [UInt8] in
                        let part = parts[index]
                        var text = ByteOutput(descriptor: -1)
                        // Room for every line: the time text plus about 20 bytes per value.
                        text.buffer.reserveCapacity(part.candles.count * (width * 20 + 2) + part.timeText.reduce(0) { $0 + $1.count })
                        for row in part.candles.indices {
                            text.collect(UnsafeBufferPointer(rebasing: shared.buffer[part.timeText[row]]))
                            for column in 0..<width {
                                text.append(byte: UInt8(ascii: ","))
                                if let value = computed[starts[index] + row * width + column] { value.write(to: &text) }
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
