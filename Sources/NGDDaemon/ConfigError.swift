/// An invalid setting: which key (as written in the TOML file, or the flag) and what is wrong.
/// The daemon stops before binding anything when it meets one.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key, e.g. `models.default.layers` or `daemon.input`.
    public let key: String
    public let problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "invalid configuration: \(problem)" : "invalid configuration: \(key): \(problem)"
    }
}
