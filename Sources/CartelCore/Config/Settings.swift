import Configuration
import Foundation

/// Typed, validated access to environment-style settings (`WEBSITE_PORT`, ...).
///
/// Values come from a swift-configuration `ConfigReader` (the process environment in the
/// executables, an in-memory dictionary in tests). Every accessor either returns a valid value
/// or throws a ``ConfigurationError`` naming the variable; an unset or empty variable takes
/// the documented default.
public struct Settings: Sendable {
    let reader: ConfigReader

    public init(reader: ConfigReader) {
        self.reader = reader
    }

    /// Settings read from the process environment.
    public static func environment() -> Settings {
        Settings(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
    }

    /// Settings read from a dictionary of environment variables (tests, tools).
    public static func values(_ values: [String: String]) -> Settings {
        Settings(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: values)))
    }

    /// The raw value of `name`, or nil when unset or blank.
    public func raw(_ name: String, isSecret: Bool = false) -> String? {
        let key = ConfigKey(name.lowercased().split(separator: "_").map(String.init))
        guard let value = reader.string(forKey: key, isSecret: isSecret)?
            .trimmingCharacters(in: .whitespaces), !value.isEmpty
        else { return nil }
        return value
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        raw(name) ?? defaultValue
    }

    public func int(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = raw(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                key: name, value: text,
                expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An exact decimal (`0.40`, `10000`), plain notation only.
    public func decimal(_ name: String, default defaultValue: Decimal, in range: ClosedRange<Decimal>) throws -> Decimal {
        guard let text = raw(name) else { return defaultValue }
        guard let value = DecimalText.parse(text), range.contains(value) else {
            throw ConfigurationError(key: name, value: text, expected: "a decimal number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public func port(_ name: String, default defaultValue: Int) throws -> Int {
        try int(name, default: defaultValue, in: 1...65535)
    }

    public func oneOf<T: RawRepresentable & CaseIterable>(
        _ name: String, default defaultValue: T
    ) throws -> T where T.RawValue == String {
        guard let text = raw(name) else { return defaultValue }
        guard let value = T(rawValue: text.lowercased()) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: name, value: text, expected: "one of \(names)")
        }
        return value
    }
}
