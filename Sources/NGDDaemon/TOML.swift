/// A value in a TOML document (the subset ngd's configuration uses).
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .bool: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        }
    }
}

/// A TOML table: keys in the order written, found by a hash index (a table of n keys is
/// built in O(n), not O(n²)).
public struct TOMLTable: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: TOMLValue)] = []
    private var index: [String: Int] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let i = index[key] {
                if let v = newValue {
                    entries[i].value = v
                } else {
                    entries.remove(at: i)
                    index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let v = newValue {
                index[key] = entries.count
                entries.append((key, v))
            }
        }
    }

    /// Removes the value at `key` from its slot (which keeps its place in the order) and
    /// returns it, so that the caller holds the only reference and can change a sub-table in
    /// place before putting it back, instead of copying it.
    mutating func take(_ key: String) -> TOMLValue? {
        guard let i = index[key] else { return nil }
        let v = entries[i].value
        entries[i].value = .bool(false)
        return v
    }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

/// A TOML syntax error, with its line (1-based).
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

/// Parses TOML v1.0 as ngd's configuration needs it: `[table]` and `[dotted.table]` headers,
/// bare, quoted and dotted keys, basic and literal strings, integers (with `_`, hex, octal,
/// binary), floats (including `inf` and `nan`), booleans, arrays (multi-line, trailing comma)
/// and inline tables. Not supported, and reported as an error: arrays of tables (`[[x]]`),
/// multi-line strings and dates.
///
/// Configuration files are trusted, but a typo must not crash: the parser is linear in its
/// input, nests values at most ``maximumDepth`` deep and keys at most ``maximumKeyParts``
/// parts long, and reports anything beyond as an error.
public struct TOMLParser {
    /// The deepest nesting of arrays and inline tables (recursion, so bounded).
    public static let maximumDepth = 64
    /// The most parts of a dotted key or table header (ngd's keys have at most three).
    public static let maximumKeyParts = 16

    private let b: [UInt8]
    private var i = 0
    private var line = 1

    public static func parse(_ text: String) throws -> TOMLTable {
        var p = TOMLParser(Array(text.utf8))
        return try p.document()
    }

    private init(_ b: [UInt8]) { self.b = b }

    private func fail(_ m: String) -> TOMLError { TOMLError(line: line, message: m) }
    private var atEnd: Bool { i >= b.count }
    private var c: UInt8 { b[i] }

    private mutating func skipBlank() { while !atEnd, c == 0x20 || c == 0x09 { i += 1 } }
    private mutating func skipComment() { if !atEnd, c == UInt8(ascii: "#") { while !atEnd, c != 0x0A { i += 1 } } }
    /// Skips blanks, comments and newlines (inside arrays).
    private mutating func skipAll() {
        while true {
            skipBlank()
            skipComment()
            if !atEnd, c == 0x0A || c == 0x0D {
                if c == 0x0A { line += 1 }
                i += 1
            } else {
                return
            }
        }
    }
    private mutating func endOfLine() throws {
        skipBlank()
        skipComment()
        if atEnd { return }
        if c == 0x0D { i += 1 }
        guard !atEnd, c == 0x0A else { throw fail("expected the end of the line") }
        i += 1
        line += 1
    }

    private mutating func document() throws -> TOMLTable {
        var root = TOMLTable()
        var current: [String] = []
        var defined: Set<[String]> = []
        while true {
            skipAll()
            if atEnd { return root }
            if c == UInt8(ascii: "[") {
                i += 1
                if !atEnd, c == UInt8(ascii: "[") { throw fail("arrays of tables ([[...]]) are not supported") }
                skipBlank()
                let path = try keyPath()
                skipBlank()
                guard !atEnd, c == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                i += 1
                guard defined.insert(path).inserted else {
                    throw fail("table [\(path.joined(separator: "."))] is defined twice")
                }
                try insert(&root, path: path[...], value: nil)
                current = path
                try endOfLine()
            } else {
                let path = try keyPath()
                skipBlank()
                guard !atEnd, c == UInt8(ascii: "=") else {
                    throw fail("expected '=' after the key \(path.joined(separator: "."))")
                }
                i += 1
                skipBlank()
                let v = try value()
                let full = current + path
                guard full.count <= Self.maximumKeyParts else {
                    throw fail(
                        "key \(full.prefix(3).joined(separator: ".")).… has more than \(Self.maximumKeyParts) parts")
                }
                try insert(&root, path: full[...], value: v)
                try endOfLine()
            }
        }
    }

    /// Puts `value` at `path`, creating tables on the way; nil just creates the table. Each
    /// sub-table is changed in place (taken out of its slot, then put back), never copied.
    private func insert(_ t: inout TOMLTable, path: ArraySlice<String>, value: TOMLValue?) throws {
        let key = path[path.startIndex]
        if path.count == 1 {
            if let v = value {
                guard t[key] == nil else { throw fail("key \(key) is defined twice") }
                t[key] = v
            } else if t[key] == nil {
                t[key] = .table(TOMLTable())
            } else if case .table = t[key]! {
            } else {
                throw fail("\(key) is already a value, not a table")
            }
            return
        }
        var taken = t.take(key)
        var sub: TOMLTable
        switch taken {
        case nil: sub = TOMLTable()
        case .table(let s)?: sub = s
        case let other?:
            t[key] = other
            throw fail("\(key) is \(other.typeName), not a table")
        }
        taken = nil
        defer { t[key] = .table(sub) }
        try insert(&sub, path: path.dropFirst(), value: value)
    }

    private mutating func keyPath() throws -> [String] {
        var parts = [try key()]
        while true {
            skipBlank()
            guard !atEnd, c == UInt8(ascii: ".") else { return parts }
            guard parts.count < Self.maximumKeyParts else {
                throw fail(
                    "key \(parts.prefix(3).joined(separator: ".")).… has more than \(Self.maximumKeyParts) parts")
            }
            i += 1
            skipBlank()
            parts.append(try key())
        }
    }

    private mutating func key() throws -> String {
        guard !atEnd else { throw fail("expected a key") }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return try string() }
        let s = i
        while !atEnd, isBare(c) { i += 1 }
        guard i > s else { throw fail("expected a key, found '\(Character(UnicodeScalar(c)))'") }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    private func isBare(_ x: UInt8) -> Bool {
        (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x5A) || (x >= 0x61 && x <= 0x7A) || x == 0x5F || x == 0x2D
    }

    private mutating func value(depth: Int = 0) throws -> TOMLValue {
        guard !atEnd else { throw fail("expected a value") }
        guard depth < Self.maximumDepth else {
            throw fail("arrays and inline tables nested more than \(Self.maximumDepth) deep")
        }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            var items: [TOMLValue] = []
            while true {
                skipAll()
                guard !atEnd else { throw fail("unterminated array") }
                if c == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                items.append(try value(depth: depth + 1))
                skipAll()
                guard !atEnd else { throw fail("unterminated array") }
                if c == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard c == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in an array") }
            }
        case UInt8(ascii: "{"):
            i += 1
            var t = TOMLTable()
            skipBlank()
            if !atEnd, c == UInt8(ascii: "}") {
                i += 1
                return .table(t)
            }
            while true {
                skipBlank()
                let path = try keyPath()
                skipBlank()
                guard !atEnd, c == UInt8(ascii: "=") else { throw fail("expected '=' in an inline table") }
                i += 1
                skipBlank()
                try insert(&t, path: path[...], value: try value(depth: depth + 1))
                skipBlank()
                guard !atEnd else { throw fail("unterminated inline table") }
                if c == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard c == UInt8(ascii: "}") else { throw fail("expected ',' or '}' in an inline table") }
                i += 1
                return .table(t)
            }
        default:
            let s = i
            while !atEnd, isBare(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "+") || c == UInt8(ascii: ":") {
                i += 1
            }
            let word = String(decoding: b[s..<i], as: UTF8.self)
            return try scalar(word)
        }
    }

    private func scalar(_ word: String) throws -> TOMLValue {
        switch word {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        case "": throw fail("expected a value")
        default: break
        }
        let digits = word.filter { $0 != "_" }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
            guard let v = Int(digits.dropFirst(2), radix: radix) else { throw fail("invalid integer \(word)") }
            return .integer(v)
        }
        if word.contains("_") && (word.hasPrefix("_") || word.hasSuffix("_") || word.contains("__")) {
            throw fail("invalid number \(word)")
        }
        if let v = Int(digits) {
            let unsigned = digits.hasPrefix("-") || digits.hasPrefix("+") ? digits.dropFirst() : Substring(digits)
            guard !(unsigned.count > 1 && unsigned.hasPrefix("0")) else { throw fail("leading zeros in \(word)") }
            return .integer(v)
        }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), !digits.hasSuffix("."),
            !digits.hasPrefix("."), let v = Double(digits), v.isFinite
        {
            return .float(v)
        }
        if word.contains(":") || word.count == 10 && word.filter({ $0 == "-" }).count == 2 {
            throw fail("dates and times are not supported (\(word))")
        }
        throw fail("invalid value \(word) (strings need quotes)")
    }

    private mutating func string() throws -> String {
        let quote = c
        if i + 2 < b.count, b[i + 1] == quote, b[i + 2] == quote { throw fail("multi-line strings are not supported") }
        i += 1
        var out: [UInt8] = []
        while true {
            guard !atEnd, c != 0x0A else { throw fail("unterminated string") }
            let x = c
            i += 1
            if x == quote { break }
            if x == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                guard !atEnd else { throw fail("unterminated string") }
                let e = c
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<(i + n)], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { throw fail("invalid unicode escape") }
                    i += n
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape \\\(Character(UnicodeScalar(e)))")
                }
            } else {
                out.append(x)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }
}
