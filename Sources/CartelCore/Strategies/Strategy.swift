import Foundation

/// What a strategy says about one candle or price update.
public struct StrategySignal: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case enter
        case exit
        case hold
    }

    public var action: Action
    public var reason: String
    /// How sure the strategy is, 0 … 1 (not money; floating point is fine).
    public var confidence: Double

    public init(_ action: Action, _ reason: String, confidence: Double = 0.5) {
        self.action = action
        self.reason = reason
        self.confidence = min(max(confidence, 0), 1)
    }

    public static func hold(_ reason: String) -> StrategySignal { StrategySignal(.hold, reason, confidence: 0) }
}

/// A candle as strategies see it: analysis values in floating point.
public struct StrategyCandle: Sendable, Equatable {
    public var time: Date
    public var open, high, low, close, volume: Double

    public init(time: Date, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    /// From a stored candle (exact decimals → doubles for indicators only).
    public init(_ candle: Candle) {
        func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }
        self.init(
            time: candle.openTime, open: double(candle.open), high: double(candle.high), low: double(candle.low),
            close: double(candle.close), volume: double(candle.volume))
    }
}

/// A trading strategy: a pure value that takes closed candles and returns enter, exit or hold,
/// tracking whether it holds a position so that exits fire only after entries (long-only spot).
public protocol Strategy: Sendable {
    /// The name used in configuration and the `strategies` table (`sma-cross`).
    static var kind: String { get }
    /// Every parameter with its default and valid range.
    static var parameters: [StrategyParameter] { get }
    /// Pairs of parameters whose first value must be below the second (`fast` < `slow`).
    static var orderedParameters: [(String, String)] { get }

    /// Builds the strategy from validated parameters (see ``StrategyParameter/resolve(_:for:)``).
    init(validated parameters: [String: Double])

    /// Whether the strategy considers itself in a position.
    var inPosition: Bool { get }

    /// One closed candle in; a decision out. Entering or exiting updates `inPosition`.
    mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal

    /// Tells the strategy what really happened (an entry that was not filled, a stop-loss exit
    /// made by the risk manager).
    mutating func setPosition(open: Bool)
}

extension Strategy {
    public static var orderedParameters: [(String, String)] { [] }

    /// Builds the strategy from user parameters, rejecting unknown names, out-of-range values and
    /// broken orderings.
    public static func make(_ given: [String: Double] = [:]) throws -> Self {
        Self(validated: try StrategyParameter.resolve(given, for: Self.self))
    }
}
