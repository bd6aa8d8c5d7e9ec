/// A named strategy parameter with its default and valid range.
public struct StrategyParameter: Sendable, Equatable {
    public var name: String
    public var defaultValue: Double
    public var range: ClosedRange<Double>
    public var isInteger: Bool

    public init(_ name: String, default defaultValue: Double, range: ClosedRange<Double>, isInteger: Bool = true) {
        self.name = name
        self.defaultValue = defaultValue
        self.range = range
        self.isInteger = isInteger
    }

    /// A parameter value that cannot be used, with a message saying why.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var strategy: String
        public var message: String
        public var description: String { "\(strategy): \(message)" }
    }

    /// Defaults overlaid with `given`; every value checked against its range and kind, and every
    /// pair in `orderedParameters` checked for order.
    public static func resolve<S: Strategy>(_ given: [String: Double], for strategy: S.Type) throws -> [String: Double] {
        let known = Dictionary(uniqueKeysWithValues: S.parameters.map { ($0.name, $0) })
        for name in given.keys.sorted() where known[name] == nil {
            throw Invalid(
                strategy: S.kind,
                message: "unknown parameter '\(name)' (expected \(S.parameters.map(\.name).joined(separator: ", ")))")
        }
        var values: [String: Double] = [:]
        for parameter in S.parameters {
            let value = given[parameter.name] ?? parameter.defaultValue
            guard value.isFinite, parameter.range.contains(value) else {
                throw Invalid(
                    strategy: S.kind,
                    message: "\(parameter.name)=\(value) is outside \(parameter.range.lowerBound)...\(parameter.range.upperBound)")
            }
            if parameter.isInteger, value != value.rounded() {
                throw Invalid(strategy: S.kind, message: "\(parameter.name)=\(value) must be a whole number")
            }
            values[parameter.name] = value
        }
        for (lower, upper) in S.orderedParameters where values[lower]! >= values[upper]! {
            throw Invalid(strategy: S.kind, message: "\(lower) (\(values[lower]!)) must be below \(upper) (\(values[upper]!))")
        }
        return values
    }
}
