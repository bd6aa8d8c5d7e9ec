import ArgumentParser

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
    static func write(csv: String, specs: [IndicatorSpec], to output: inout ByteOutput) throws {
        var set = IndicatorSet(specs)
        try output.append("time," + set.columns.joined(separator: ",") + "\n")
        do {
            try CandleCSV.forEachAnalysisRow(path: csv) { time, candle in
                try output.append(time)
                var failure: (any Error)?
                set.update(high: candle.high, low: candle.low, close: candle.close, volume: candle.volume) { value in
                    output.append(byte: UInt8(ascii: ","))
                    if let value {
                        do { try output.append(value) } catch { failure = error }
                    }
                }
                if let failure { throw failure }
                output.append(byte: UInt8(ascii: "\n"))
            }
        } catch let error as CandleCSV.ParseError {
            throw ValidationError("\(csv): \(error)")
        }
    }
}
