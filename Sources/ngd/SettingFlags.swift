import ArgumentParser
import NGDDaemon
import NGDMath

/// One flag a command accepts from a settings table: how to read its text, and where it goes.
struct FlagSpec {
    let flag: String
    let valueName: String
    let kind: SettingKind
    let help: String
    /// The default, as `--help` shows it.
    let defaultText: String?
    /// Reads the flag's text as its kind; throws ``ValidationError`` naming the flag.
    let parse: (String) throws -> SettingValue
}

/// Every setting of a settings table as a flag: `--name value`, `--name=value`, and for a
/// true/false setting `--name` or `--no-name`. The flags are read from the tables
/// (``DaemonConfig/settings``, ``ModelConfig/settings``, ``NaturalGradientSettings/settings``),
/// so a setting is declared once and gets its flag, its `--help` line and its config key from
/// there. `serve` and the `bench` commands share this group.
struct SettingFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: .hidden) var arguments: [String] = []

    /// The given flags, in order, each with its value read as its setting's kind.
    /// - Throws: ``ValidationError`` for an unknown flag (with the nearest known one), a missing
    ///   value, or a value of the wrong form.
    func values(_ specs: [FlagSpec]) throws -> [(flag: String, value: SettingValue)] {
        let byFlag = Dictionary(specs.map { ($0.flag, $0) }, uniquingKeysWith: { first, _ in first })
        var out: [(String, SettingValue)] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            guard argument.hasPrefix("--") else { throw ValidationError("unexpected argument '\(argument)'") }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let flag = String(parts[0])
            let inline = parts.count > 1 ? String(parts[1]) : nil
            if let spec = byFlag[flag] {
                if spec.kind == .boolean && inline == nil {
                    out.append((flag, .boolean(true)))
                    continue
                }
                guard let text = inline ?? (i < arguments.count ? arguments[i] : nil) else {
                    throw ValidationError("missing value for \(flag) <\(spec.valueName)>")
                }
                if inline == nil { i += 1 }
                out.append((flag, try spec.parse(text)))
            } else if flag.hasPrefix("--no-"), inline == nil, let spec = byFlag["--" + flag.dropFirst(5)],
                spec.kind == .boolean
            {
                out.append((spec.flag, .boolean(false)))
            } else {
                let near = specs.map(\.flag).min { editDistance($0, flag) < editDistance($1, flag) }
                let hint = near.map { editDistance($0, flag) <= 3 ? "; did you mean \($0)?" : "" } ?? ""
                throw ValidationError("unknown option '\(flag)'\(hint) (--help lists every setting)")
            }
        }
        return out
    }
}

extension FlagSpec {
    /// The flag of one row of a settings table, with the default it has in `defaults`.
    init<Root, Name>(_ s: Setting<Root, Name>, defaults: [Root]) {
        let shown = defaults.compactMap { s.value(in: $0)?.description }
        self.init(
            flag: s.name.flag, valueName: s.valueName, kind: s.kind, help: s.help,
            defaultText: shown.isEmpty ? nil : Array(Set(shown)).count == 1 ? shown[0] : shown.joined(separator: ", "),
            parse: { try Self.read($0, s) })
    }

    /// `text` read as `setting`'s kind; a ``ValidationError`` naming the flag otherwise.
    static func read<Root, Name>(_ text: String, _ setting: Setting<Root, Name>) throws -> SettingValue {
        do { return try setting.parse(text) } catch { throw ValidationError("\(setting.name.flag): \(error.problem)") }
    }

    /// The `serve` flags of the daemon's settings.
    static var daemon: [FlagSpec] { DaemonConfig.settings.map { FlagSpec($0, defaults: [DaemonConfig()]) } }

    /// The `serve` flags of the `default` model's settings; a flag shared by the optimizers
    /// (e.g. `--learning-rate`) appears once, with each optimizer's default.
    static var model: [FlagSpec] {
        var out: [FlagSpec] = []
        var seen: Set<String> = []
        let rows = ModelConfig.settings
        for row in rows where seen.insert(row.setting.name.flag).inserted {
            let name = row.setting.name
            let owners = rows.filter { $0.setting.name == name }.compactMap(\.optimizer)
            var defaults: [String] = []
            for kind in owners.isEmpty ? [OptimizerKind.ngd] : owners {
                var m = ModelConfig(name: "default", layers: [])
                m.optimizer = kind
                if let v = m.value(of: name) { defaults.append(owners.count > 1 ? "\(kind.rawValue) \(v)" : "\(v)") }
            }
            let only = owners.count == 1 ? " \(owners[0].rawValue.uppercased()) only." : ""
            out.append(
                FlagSpec(
                    flag: name.flag, valueName: row.setting.valueName, kind: row.setting.kind,
                    help: row.setting.help + only,
                    defaultText: defaults.isEmpty || defaults == [""] ? nil : defaults.joined(separator: ", "),
                    parse: { try Self.read($0, row.setting) }))
        }
        return out
    }

    /// `--help` lines for `specs`: flag, placeholder, help and default, wrapped to 80 columns
    /// (ArgumentParser's width when the output is not a terminal).
    static func helpSection(_ title: String, _ specs: [FlagSpec]) -> String {
        var lines = [title]
        for s in specs {
            let head = s.kind == .boolean ? "\(s.flag), --no-\(s.flag.dropFirst(2))" : "\(s.flag) <\(s.valueName)>"
            let text = s.help + (s.defaultText.map { " (default: \($0))" } ?? "")
            var first = "  " + head
            let column = 32
            if first.count >= column - 1 {
                lines.append(first)
                first = ""
            }
            var line = first.padding(toLength: column, withPad: " ", startingAt: 0)
            for word in text.split(separator: " ") {
                if line.count + word.count + 1 > 80, line.count > column {
                    lines.append(line)
                    line = String(repeating: " ", count: column)
                }
                line += (line.count == column ? "" : " ") + word
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return a.isEmpty ? b.count : row[b.count]
}
