import NGDDaemon
import NGDMath

/// A value unlike `v`, of the same kind: for the table-driven tests that set every setting of a
/// settings table and check it arrived.
public func otherValue(_ v: SettingValue?, _ kind: SettingKind) -> SettingValue {
    switch (kind, v) {
    case (.real, .number(let d)?): .number(d * 2 + 1)
    case (.integer, .integer(let n)?), (.optionalInteger, .integer(let n)?): .integer(n + 3)
    case (.optionalInteger, nil): .integer(7)
    case (.boolean, .boolean(let b)?): .boolean(!b)
    case (.choice(let words), .text(let w)?): .text(words.first { $0 != w } ?? w)
    case (.integers, _): .integers([3, 4, 5])
    default: .text("x\(v.map { "\($0)" } ?? "")")
    }
}

/// `v` as a TOML value.
public func tomlLiteral(_ v: SettingValue) -> String {
    switch v {
    case .number(let d): "\(d)"  // Swift prints a point or an exponent, both TOML floats
    case .integer(let n): "\(n)"
    case .boolean(let b): "\(b)"
    case .text(let s): "\"\(s)\""
    case .integers(let list): "[" + list.map(String.init).joined(separator: ", ") + "]"
    }
}

/// Every row of ``DaemonConfig/settings`` with a value unlike its default.
public func daemonSettingCases() -> [(setting: Setting<DaemonConfig, DaemonSettingName>, value: SettingValue)] {
    DaemonConfig.settings.map { ($0, otherValue($0.value(in: DaemonConfig()), $0.kind)) }
}

/// Every row of ``ModelConfig/settings``: its name, the optimizer it is a setting of (NGD for a
/// setting of every model), its kind, and a value unlike that optimizer's default.
public func modelSettingCases() -> [(
    name: ModelSettingName, optimizer: OptimizerKind, kind: SettingKind, value: SettingValue
)] {
    ModelConfig.settings.map { row in
        var fresh = ModelConfig(name: "default", layers: [])
        fresh.optimizer = row.optimizer ?? .ngd
        let name = row.setting.name
        return (name, fresh.optimizer, row.setting.kind, otherValue(fresh.value(of: name), row.setting.kind))
    }
}
