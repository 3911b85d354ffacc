#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed JSON document. Numbers keep their source text, so an id such as
/// `18446744073709551615` is echoed back exactly rather than through a Double.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number: its value and its text as written.
    case number(Double, text: String)
    case string(String)
    case array([JSONValue])
    /// Members in source order. A repeated key is a parse error.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x, _), .number(let y, _)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member named `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Parses one JSON document (RFC 8259) from UTF-8 bytes; surrounding whitespace is allowed.
    /// - Throws: ``WireError/malformedJSON(_:)`` naming the byte offset and what was expected.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf in
            var p = JSONParser(buf)
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            guard p.i == buf.count else { throw p.fail("unexpected data after the document") }
            return v
        }
    }
}

/// A strict recursive-descent JSON parser over a byte buffer.
struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Nesting deeper than this is refused, so a hostile message cannot exhaust the stack.
    static let maximumDepth = 64

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    func fail(_ what: String) -> WireError {
        WireError.malformedJSON(i < b.count ? "\(what) at byte \(i)" : "\(what) at the end of the payload")
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ c: UInt8, _ what: String) throws {
        guard i < b.count, b[i] == c else { throw fail("expected \(what)") }
        i += 1
    }

    mutating func literal(_ word: StaticString, _ v: JSONValue) throws -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw fail("invalid literal") }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
        return v
    }

    /// The items of an object or an array, from its opening byte to `close`: `item` reads one
    /// (after leading space), and commas separate them.
    mutating func list(closing close: Unicode.Scalar, _ item: (inout JSONParser) throws -> Void) throws {
        i += 1
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: close) {
            i += 1
            return
        }
        while true {
            skipSpace()
            try item(&self)
            skipSpace()
            guard i < b.count else { throw fail("expected ',' or '\(close)'") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            try expect(UInt8(ascii: close), "',' or '\(close)'")
            return
        }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth)") }
        guard i < b.count else { throw fail("expected a value") }
        switch b[i] {
        case UInt8(ascii: "{"):
            var members: [(String, JSONValue)] = []
            var keys = Set<String>()  // a hash set keeps the duplicate check linear in the members
            try list(closing: "}") {
                guard $0.i < $0.b.count, $0.b[$0.i] == UInt8(ascii: "\"") else {
                    throw $0.fail("expected a string key")
                }
                let key = try $0.string()
                guard keys.insert(key).inserted else { throw $0.fail("duplicate key \"\(key)\"") }
                $0.skipSpace()
                try $0.expect(UInt8(ascii: ":"), "':'")
                $0.skipSpace()
                members.append((key, try $0.value(depth: depth + 1)))
            }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            try list(closing: "]") { items.append(try $0.value(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    /// A number per the JSON grammar, converted by strtod (correctly rounded).
    mutating func number() throws -> JSONValue {
        let start = i
        func digits() -> Int {
            let s = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i - s
        }
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else {
            i = start
            throw fail("expected a value")
        }
        if b[i] == 0x30 { i += 1 } else { _ = digits() }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("expected a digit after '.'") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent") }
        }
        let n = i - start
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        let v = withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { tmp -> Double in
            for k in 0..<n { tmp[k] = CChar(bitPattern: b[start + k]) }
            tmp[n] = 0
            return strtod(tmp.baseAddress!, nil)
        }
        return .number(v, text: text)
    }

    /// A string, with escapes (including surrogate pairs) decoded. Control characters are refused.
    mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        var start = i
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
            i += 1
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: throw fail("invalid escape")
            }
            start = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
        i += 1  // closing quote
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
