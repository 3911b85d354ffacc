/// An invalid configuration: where (a typed setting, which names both its key in a file and its
/// flag) and what is wrong. The daemon stops before binding anything when it meets one.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where the problem is.
    public enum Location: Equatable, Sendable {
        /// A setting of the `[daemon]` table.
        case daemon(DaemonSettingName)
        /// A setting of model `NAME`, or (nil) the model's table as a whole.
        case model(String, ModelSettingName?)
        /// The set of models (none configured, for example).
        case models
        /// A place no setting names: an unknown key (`daemon.imput`), or a file's syntax.
        case other(String)
    }

    public let location: Location
    public let problem: String

    public init(_ location: Location, _ problem: String) {
        self.location = location
        self.problem = problem
    }

    /// The key as written in a configuration file, e.g. `models.default.layers` or `daemon.input`.
    public var configKey: String {
        switch location {
        case .daemon(let s): "daemon.\(s.configKey)"
        case .model(let m, let s?): "models.\(m).\(s.configKey)"
        case .model(let m, nil): "models.\(m)"
        case .models: "models"
        case .other(let key): key
        }
    }

    /// The flag that sets it (for the daemon and the `default` model), when there is one.
    public var flag: String? {
        switch location {
        case .daemon(let s): s.flag
        case .model(_, let s?): s.flag
        default: nil
        }
    }

    public var description: String {
        let key = configKey
        let place = key.isEmpty ? "" : flag.map { "\(key) (\($0)): " } ?? "\(key): "
        return "invalid configuration: \(place)\(problem)"
    }
}
