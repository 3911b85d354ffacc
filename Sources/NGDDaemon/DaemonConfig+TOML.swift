import NGDMath

extension DaemonConfig {
    /// Reads a configuration from TOML text (see deploy/ngd.toml). Keys are those of
    /// ``DaemonConfig/settings`` and ``ModelConfig/settings``; unknown keys are errors, so a typo
    /// never silently leaves a default in place.
    /// - Throws: ``ConfigError`` naming the key (or the line, for a syntax error).
    public static func parse(toml text: String, file: String = "config") throws(ConfigError) -> DaemonConfig {
        let root: TOMLTable
        do { root = try TOMLParser.parse(text) } catch { throw ConfigError(.other(""), "\(file): \(error)") }
        var c = DaemonConfig()
        for (key, value) in root.entries {
            switch key {
            case "daemon":
                for (k, v) in try table(value, "daemon").entries {
                    // `[daemon.curve]` is a table of its own; its keys are `curve.NAME`.
                    let entries =
                        k == "curve" ? try table(v, "daemon.curve").entries.map { ("curve." + $0, $1) } : [(k, v)]
                    for (k, v) in entries {
                        guard let name = DaemonSettingName(rawValue: k) else {
                            throw ConfigError(.other("daemon.\(k)"), "unknown key")
                        }
                        try c.set(name, settingValue(v, "daemon.\(k)"))
                    }
                }
            case "models":
                for (name, m) in try table(value, "models").entries {
                    var model = ModelConfig(name: name, layers: [])
                    let entries = try table(m, "models.\(name)").entries
                    // The optimizer first: it decides which table the training settings go to.
                    for (k, v) in entries.filter({ $0.0 == "optimizer" }) + entries.filter({ $0.0 != "optimizer" }) {
                        guard let setting = ModelConfig.settingName(configKey: k) else {
                            throw ConfigError(.other("models.\(name).\(k)"), "unknown key")
                        }
                        try model.set(setting, settingValue(v, "models.\(name).\(k)"))
                    }
                    c.models.append(model)
                }
            default: throw ConfigError(.other(key), "unknown table or key (expected [daemon] or [models.NAME])")
            }
        }
        return c
    }
}

private func table(_ v: TOMLValue, _ key: String) throws(ConfigError) -> TOMLTable {
    guard case .table(let t) = v else { throw ConfigError(.other(key), "must be a table, not \(v.typeName)") }
    return t
}

/// A TOML value as a setting value; the setting then checks its type.
private func settingValue(_ v: TOMLValue, _ key: String) throws(ConfigError) -> SettingValue {
    switch v {
    case .integer(let n): return .integer(n)
    case .float(let d): return .number(d)
    case .bool(let b): return .boolean(b)
    case .string(let s): return .text(s)
    case .array(let items):
        var list: [Int] = []
        for item in items {
            guard case .integer(let n) = item else {
                throw ConfigError(
                    .other(key), "must be an array of integers, e.g. [20, 20, 20], not one holding \(item.typeName)")
            }
            list.append(n)
        }
        return .integers(list)
    case .table: throw ConfigError(.other(key), "must be a value, not a table")
    }
}
