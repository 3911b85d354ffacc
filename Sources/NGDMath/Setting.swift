/// The name of a setting: one case per setting, each spelled exactly once for a configuration
/// file and once for the command line. Errors about a setting carry its name, so a message can
/// point at the key or the flag the user wrote.
public protocol SettingName: Hashable, Sendable {
    /// The key in a configuration file, e.g. `learning_rate`.
    var configKey: String { get }
    /// The command-line flag, e.g. `--learning-rate`.
    var flag: String { get }
}

/// A setting's value as a configuration file or a flag gives it, before it is checked.
public enum SettingValue: Equatable, Sendable, CustomStringConvertible {
    case number(Double)
    case integer(Int)
    case boolean(Bool)
    case text(String)
    case integers([Int])

    public var description: String {
        switch self {
        case .number(let d): "\(d)"
        case .integer(let n): "\(n)"
        case .boolean(let b): "\(b)"
        case .text(let s): s
        case .integers(let list): list.map(String.init).joined(separator: ",")
        }
    }
}

/// One setting of a settings type `Root`: its name, one line of help, and where it is stored.
///
/// A settings type lists its settings once (its `settings` table); configuration files, command
/// lines, `--help` and the documentation are read from that table, so a setting is declared in
/// one place. Range checks stay in the settings type's `validate()`.
public struct Setting<Root, Name: SettingName> {
    public let name: Name
    /// The value's placeholder in help, e.g. `η` or `n`.
    public let valueName: String
    /// One line for `--help` and the documentation: what it means, with units.
    public let help: String
    public let kind: SettingKind
    private let read: (Root) -> SettingValue?
    private let write: (inout Root, SettingValue) -> Bool

    /// A setting with explicit accessors; `write` returns false when the value has the wrong type.
    public init(
        _ name: Name,
        _ valueName: String,
        _ help: String,
        kind: SettingKind,
        read: @escaping (Root) -> SettingValue?,
        write: @escaping (inout Root, SettingValue) -> Bool
    ) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.kind = kind
        self.read = read
        self.write = write
    }

    /// The value in `root`; nil for an unset optional.
    public func value(in root: Root) -> SettingValue? { read(root) }

    /// Stores `value` in `root`, converting an integral number to an integer and an integer to
    /// a number. Range checks are the settings type's `validate()`.
    /// - Throws: ``SettingError/wrongType(_:expected:got:)`` and leaves `root` unchanged.
    public func set(_ value: SettingValue, in root: inout Root) throws(SettingError<Name>) {
        guard write(&root, value) else { throw .wrongType(name, expected: kind.expectation, got: value) }
    }

    /// Reads `text` as this setting's kind (a flag's argument).
    /// - Throws: ``SettingError/unreadable(_:text:expected:)``.
    public func parse(_ text: String) throws(SettingError<Name>) -> SettingValue {
        let value: SettingValue? =
            switch kind {
            case .real: Double(text).map(SettingValue.number)
            case .integer, .optionalInteger: Int(text).map(SettingValue.integer)
            case .boolean: ["true": true, "false": false][text].map(SettingValue.boolean)
            case .text: .text(text)
            case .choice(let words): words.contains(text) ? .text(text) : nil
            case .integers:
                Self.integerList(text).map(SettingValue.integers)
            }
        guard let value else { throw .unreadable(name, text: text, expected: kind.expectation) }
        return value
    }

    /// `20, 20,20` → [20, 20, 20]; nil when a part is not an integer.
    private static func integerList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = Int(part.filter { $0 != " " }) else { return nil }
            out.append(n)
        }
        return out
    }

    /// The same setting, stored at `path` inside an `Outer` value and named by `rename`.
    public func lifted<Outer, OuterName: SettingName>(
        _ path: WritableKeyPath<Outer, Root>,
        as rename: @escaping (Name) -> OuterName
    ) -> Setting<Outer, OuterName> {
        let read = self.read
        let write = self.write
        return Setting<Outer, OuterName>(
            rename(name),
            valueName,
            help,
            kind: kind,
            read: { read($0[keyPath: path]) },
            write: { write(&$0[keyPath: path], $1) }
        )
    }
}

extension Setting {
    /// A floating-point setting stored at `path`.
    public static func real(
        _ name: Name,
        _ path: WritableKeyPath<Root, Double>,
        _ valueName: String,
        _ help: String
    )
        -> Self
    {
        Self(
            name,
            valueName,
            help,
            kind: .real,
            read: { .number($0[keyPath: path]) },
            write: { root, value in
                switch value {
                case .number(let d): root[keyPath: path] = d
                case .integer(let n): root[keyPath: path] = Double(n)
                default: return false
                }
                return true
            }
        )
    }

    /// An integer setting stored at `path`.
    public static func integer(
        _ name: Name,
        _ path: WritableKeyPath<Root, Int>,
        _ valueName: String,
        _ help: String
    )
        -> Self
    {
        Self(
            name,
            valueName,
            help,
            kind: .integer,
            read: { .integer($0[keyPath: path]) },
            write: { root, value in
                guard let n = value.integerValue else { return false }
                root[keyPath: path] = n
                return true
            }
        )
    }

    /// An integer setting stored at `path`, where nil means "automatic".
    public static func optionalInteger(
        _ name: Name,
        _ path: WritableKeyPath<Root, Int?>,
        _ valueName: String,
        _ help: String
    ) -> Self {
        Self(
            name,
            valueName,
            help,
            kind: .optionalInteger,
            read: { $0[keyPath: path].map(SettingValue.integer) },
            write: { root, value in
                guard let n = value.integerValue else { return false }
                root[keyPath: path] = n
                return true
            }
        )
    }

    /// A text setting stored at `path`.
    public static func text(
        _ name: Name,
        _ path: WritableKeyPath<Root, String>,
        _ valueName: String,
        _ help: String
    )
        -> Self
    {
        Self(
            name,
            valueName,
            help,
            kind: .text,
            read: { .text($0[keyPath: path]) },
            write: { root, value in
                guard case .text(let s) = value else { return false }
                root[keyPath: path] = s
                return true
            }
        )
    }

    /// A true/false setting stored at `path`.
    public static func boolean(_ name: Name, _ path: WritableKeyPath<Root, Bool>, _ help: String) -> Self {
        Self(
            name,
            "",
            help,
            kind: .boolean,
            read: { .boolean($0[keyPath: path]) },
            write: { root, value in
                guard case .boolean(let b) = value else { return false }
                root[keyPath: path] = b
                return true
            }
        )
    }

    /// A setting that holds one case of `Choice`, spelled by its raw value.
    public static func choice<Choice: RawRepresentable & CaseIterable>(
        _ name: Name,
        _ path: WritableKeyPath<Root, Choice>,
        _ help: String
    ) -> Self where Choice.RawValue == String {
        Self(
            name,
            Choice.allCases.map(\.rawValue).joined(separator: "|"),
            help,
            kind: .choice(Choice.allCases.map(\.rawValue)),
            read: { .text($0[keyPath: path].rawValue) },
            write: { root, value in
                guard case .text(let s) = value, let c = Choice(rawValue: s) else { return false }
                root[keyPath: path] = c
                return true
            }
        )
    }
}

extension SettingValue {
    /// "a number", "a string", … for error messages.
    public var typeName: String {
        switch self {
        case .number: "a number"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .text: "a string"
        case .integers: "a list of integers"
        }
    }

    /// The value as an integer: an integer, or a number with no fractional part that fits.
    public var integerValue: Int? {
        switch self {
        case .integer(let n): n
        case .number(let d): Int(exactly: d)
        default: nil
        }
    }
}

extension SettingKind {
    /// What a value of this kind looks like, for error messages.
    public var expectation: String {
        switch self {
        case .real: "a number"
        case .integer, .optionalInteger: "an integer"
        case .boolean: "true or false"
        case .text: "text"
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .integers: "a list of integers such as 20,20,20"
        }
    }
}

/// What a setting holds, which decides how its text is read.
public enum SettingKind: Equatable, Sendable {
    /// A floating-point number (an integer is accepted).
    case real
    /// An integer.
    case integer
    /// An integer, or nothing for "automatic".
    case optionalInteger
    /// `true` or `false`; as a flag, `--name` or `--no-name`.
    case boolean
    /// Free text.
    case text
    /// One of the listed words.
    case choice([String])
    /// A list of integers; as a flag, comma-separated.
    case integers
}

/// A setting value of the wrong form, before any range check.
public enum SettingError<Name: SettingName>: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration file gave a value of another type.
    case wrongType(Name, expected: String, got: SettingValue)
    /// A flag's text cannot be read as the setting's kind.
    case unreadable(Name, text: String, expected: String)

    /// The setting concerned.
    public var name: Name {
        switch self {
        case .wrongType(let n, _, _), .unreadable(let n, _, _): n
        }
    }

    /// What is wrong, without the setting's name (the caller names the key or the flag).
    public var problem: String {
        switch self {
        case .wrongType(_, let expected, let got): "must be \(expected), not \(got.typeName) (\(got))"
        case .unreadable(_, let text, let expected): "'\(text)' is not \(expected)"
        }
    }

    public var description: String { "\(name.configKey): \(problem)" }
}
