import Foundation

/// Every strategy the platform ships, by the name used in configuration.
public enum StrategyCatalog {
    public static let all: [any Strategy.Type] = [
        SMACrossStrategy.self, RSIStrategy.self, RSIPullbackStrategy.self, QuantumOscillatorStrategy.self,
        BollingerBreakoutStrategy.self, MACDStrategy.self,
    ]

    public static var kinds: [String] { all.map { $0.kind } }

    public static func type(named kind: String) throws -> any Strategy.Type {
        guard let type = all.first(where: { $0.kind == kind }) else {
            throw StrategyParameter.Invalid(strategy: kind, message: "unknown strategy (known: \(kinds.joined(separator: ", ")))")
        }
        return type
    }

    /// The strategy's own parameters from a set that may also hold exit-rule settings.
    public static func ownParameters(_ parameters: [String: Double]) -> [String: Double] {
        parameters.filter { !ExitRules.parameterNames.contains($0.key) }
    }

    /// The strategy named `kind`, built from the strategy's own entries in `parameters` (exit
    /// settings are ignored here: see ``ExitRules/overridden(by:strategy:)``).
    public static func make(kind: String, parameters: [String: Double]) throws -> any Strategy {
        func make<S: Strategy>(_ type: S.Type) throws -> any Strategy { try type.make(ownParameters(parameters)) }
        return try make(type(named: kind))
    }

    /// Checks parameters (a strategy's own and its exit settings) without building anything.
    public static func validate(_ type: any Strategy.Type, parameters: [String: Double]) throws {
        _ = try ExitRules().overridden(by: parameters, strategy: type.kind)
        func check<S: Strategy>(_ type: S.Type) throws { _ = try StrategyParameter.resolve(ownParameters(parameters), for: type) }
        try check(type)
    }

    /// Splits `key=value,key=value` (or repeated `key=value` arguments) into numbers.
    public static func parseParameters(_ items: [String], strategy: String) throws -> [String: Double] {
        var values: [String: Double] = [:]
        for item in items.flatMap({ $0.split(separator: ",") }) {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let value = Double(parts[1]), value.isFinite else {
                throw StrategyParameter.Invalid(strategy: strategy, message: "'\(item)' is not name=number")
            }
            guard values.updateValue(value, forKey: parts[0]) == nil else {
                throw StrategyParameter.Invalid(strategy: strategy, message: "\(parts[0]) is given twice")
            }
        }
        return values
    }
}

extension Backtester {
    /// Backtests the strategy named `kind` with `parameters`, which may include the exit-rule
    /// settings (`stop_loss`, `take_profit_atr`, `cooldown`, ...) beside the strategy's own.
    public static func run(
        kind: String, parameters: [String: Double], candles: [StrategyCandle], configuration: BacktestConfiguration
    ) throws -> BacktestResult {
        let strategy = try StrategyCatalog.make(kind: kind, parameters: parameters)
        var configuration = configuration
        configuration.exits = try configuration.exits.overridden(by: parameters, strategy: kind)
        func start<S: Strategy>(_ strategy: S) -> BacktestResult { run(strategy, candles: candles, configuration: configuration) }
        return start(strategy)
    }
}
