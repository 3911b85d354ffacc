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
        _ name: Name, _ valueName: String, _ help: String, kind: SettingKind, read: @escaping (Root) -> SettingValue?,
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
            case .integers: Self.integerList(text).map(SettingValue.integers)
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
        _ path: WritableKeyPath<Outer, Root>, as rename: @escaping (Name) -> OuterName
    ) -> Setting<Outer, OuterName> {
        let read = self.read
        let write = self.write
        return Setting<Outer, OuterName>(
            rename(name), valueName, help, kind: kind, read: { read($0[keyPath: path]) },
            write: { write(&$0[keyPath: path], $1) })
    }
}

extension Setting {
    /// The setting stored at `path`, of the kind its type gives. `valueName` is the placeholder
    /// in help (a choice's placeholder lists its words).
    public init<Value: SettingRepresentable>(
        _ name: Name, _ path: WritableKeyPath<Root, Value>, _ valueName: String, _ help: String
    ) {
        let kind = Value.settingKind
        var shown = valueName
        if case .choice(let words) = kind { shown = words.joined(separator: "|") }
        self.init(
            name, shown, help, kind: kind, read: { $0[keyPath: path].settingValue },
            write: { root, value in
                guard let v = Value(setting: value) else { return false }
                root[keyPath: path] = v
                return true
            })
    }
}

extension Setting {
    /// A setting without a placeholder: a true/false setting or a choice.
    public init<Value: SettingRepresentable>(_ name: Name, _ path: WritableKeyPath<Root, Value>, _ help: String) {
        self.init(name, path, "", help)
    }
}

/// A type a setting can hold: it reads itself from a ``SettingValue`` and writes itself as one.
public protocol SettingRepresentable {
    /// How the value is read from text and shown in help.
    static var settingKind: SettingKind { get }
    /// The value, or nil when `setting` has the wrong type (an integral number is an integer,
    /// an integer a number).
    init?(setting: SettingValue)
    /// The value as a setting; nil for an unset optional.
    var settingValue: SettingValue? { get }
}

extension Double: SettingRepresentable {
    public static var settingKind: SettingKind { .real }
    public init?(setting: SettingValue) {
        switch setting {
        case .number(let d): self = d
        case .integer(let n): self = Double(n)
        default: return nil
        }
    }
    public var settingValue: SettingValue? { .number(self) }
}

extension Int: SettingRepresentable {
    public static var settingKind: SettingKind { .integer }
    public init?(setting: SettingValue) {
        guard let n = setting.integerValue else { return nil }
        self = n
    }
    public var settingValue: SettingValue? { .integer(self) }
}

/// An integer of at least 0, such as a seed.
extension UInt64: SettingRepresentable {
    public static var settingKind: SettingKind { .integer }
    public init?(setting: SettingValue) {
        guard let n = setting.integerValue, n >= 0 else { return nil }
        self = UInt64(n)
    }
    public var settingValue: SettingValue? { .integer(Int(truncatingIfNeeded: self)) }
}

/// An integer, or nothing for "automatic".
extension Optional: SettingRepresentable where Wrapped == Int {
    public static var settingKind: SettingKind { .optionalInteger }
    public init?(setting: SettingValue) {
        guard let n = setting.integerValue else { return nil }
        self = n
    }
    public var settingValue: SettingValue? { map(SettingValue.integer) }
}

extension Bool: SettingRepresentable {
    public static var settingKind: SettingKind { .boolean }
    public init?(setting: SettingValue) {
        guard case .boolean(let b) = setting else { return nil }
        self = b
    }
    public var settingValue: SettingValue? { .boolean(self) }
}

extension String: SettingRepresentable {
    public static var settingKind: SettingKind { .text }
    public init?(setting: SettingValue) {
        guard case .text(let s) = setting else { return nil }
        self = s
    }
    public var settingValue: SettingValue? { .text(self) }
}

extension Array: SettingRepresentable where Element == Int {
    public static var settingKind: SettingKind { .integers }
    public init?(setting: SettingValue) {
        guard case .integers(let list) = setting else { return nil }
        self = list
    }
    public var settingValue: SettingValue? { .integers(self) }
}

/// A setting that holds one case of an enumeration, spelled by its raw value.
public protocol SettingChoice: SettingRepresentable, RawRepresentable, CaseIterable where RawValue == String {}

extension SettingChoice {
    public static var settingKind: SettingKind { .choice(allCases.map(\.rawValue)) }
    public init?(setting: SettingValue) {
        guard case .text(let s) = setting else { return nil }
        self.init(rawValue: s)
    }
    public var settingValue: SettingValue? { .text(rawValue) }
}

extension Activation: SettingChoice {}

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

/// A settings type whose settings are all listed in one table. Its `Codable` conformance comes
/// from the table: each setting is stored under its configuration key, and a key that is
/// missing keeps its default, so settings saved before a setting existed still decode.
public protocol SettingsTable: Codable {
    associatedtype Name: SettingName
    /// Every setting of the type.
    static var settings: [Setting<Self, Name>] { get }
    /// The defaults.
    init()
}

/// A coding key spelled at run time: a setting's configuration key.
struct SettingCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension SettingsTable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: SettingCodingKey.self)
        for s in Self.settings {
            let key = SettingCodingKey(s.name.configKey)
            guard c.contains(key), try !c.decodeNil(forKey: key) else { continue }
            let value: SettingValue =
                switch s.kind {
                case .real: .number(try c.decode(Double.self, forKey: key))
                case .integer, .optionalInteger: .integer(try c.decode(Int.self, forKey: key))
                case .boolean: .boolean(try c.decode(Bool.self, forKey: key))
                case .text, .choice: .text(try c.decode(String.self, forKey: key))
                case .integers: .integers(try c.decode([Int].self, forKey: key))
                }
            do { try s.set(value, in: &self) } catch {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: error.problem)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: SettingCodingKey.self)
        for s in Self.settings {
            let key = SettingCodingKey(s.name.configKey)
            switch s.value(in: self) {
            case .number(let d)?: try c.encode(d, forKey: key)
            case .integer(let n)?: try c.encode(n, forKey: key)
            case .boolean(let b)?: try c.encode(b, forKey: key)
            case .text(let t)?: try c.encode(t, forKey: key)
            case .integers(let list)?: try c.encode(list, forKey: key)
            case nil: break
            }
        }
    }
}
