/// A setting that cannot be used. The description is one line naming the setting, what it
/// held and what was expected — meant to be printed as-is before the process exits.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The environment variable name, e.g. `WEBSITE_PORT`.
    public var key: String
    public var value: String
    public var expected: String

    public init(key: String, value: String, expected: String) {
        self.key = key
        self.value = value
        self.expected = expected
    }

    public var description: String {
        "configuration error: \(key)='\(value)' is invalid: expected \(expected)"
    }
}
