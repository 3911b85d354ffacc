/// Builds compact JSON text. Doubles are written with Swift's shortest round-trip form, so a
/// client that parses them correctly (Python's `json`, any strtod) recovers the same bits.
/// Non-finite numbers, which JSON cannot express, are written as `null`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = [false]

    public init() { bytes.reserveCapacity(256) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separator()
        bytes.append(bracket)
        needsComma.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        needsComma.removeLast()
        bytes.append(bracket)
    }

    /// Writes `"key":` inside an object; the next value call writes its value.
    public mutating func key(_ k: String) {
        separator()
        writeString(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    public mutating func value(_ d: Double) {
        separator()
        if d.isFinite {
            // Integral values print as "3.0"; keep that (still a JSON number, and clearly a float).
            bytes.append(contentsOf: d.description.utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }
    public mutating func value(_ n: Int) {
        separator()
        bytes.append(contentsOf: String(n).utf8)
    }
    public mutating func value(_ n: UInt64) {
        separator()
        bytes.append(contentsOf: String(n).utf8)
    }
    public mutating func value(_ b: Bool) {
        separator()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
    }
    public mutating func value(_ s: String) {
        separator()
        writeString(s)
    }
    public mutating func null() {
        separator()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Writes `v` as parsed (numbers keep their original text).
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): value(b)
        case .number(_, let text):
            separator()
            bytes.append(contentsOf: text.utf8)
        case .string(let s): value(s)
        case .array(let items):
            beginArray()
            for x in items { value(x) }
            endArray()
        case .object(let members):
            beginObject()
            for (k, x) in members {
                key(k)
                value(x)
            }
            endObject()
        }
    }

    /// Writes a JSON array of doubles.
    public mutating func value<C: Collection>(doubles: C) where C.Element == Double {
        beginArray()
        for d in doubles { value(d) }
        endArray()
    }

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(c >> 4)])
                bytes.append(hex[Int(c & 15)])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

extension JSONWriter {
    /// Writes `rows` as one vector, or as a list of vectors when it is a batch.
    public mutating func value(_ rows: Rows) {
        guard rows.isBatch else { return value(doubles: rows.values) }
        beginArray()
        for r in 0..<rows.count { value(doubles: rows.values[(r * rows.width)..<((r + 1) * rows.width)]) }
        endArray()
    }

    /// Writes a ``MessageID`` (null when there is none).
    mutating func value(id: MessageID) {
        switch id {
        case .none: null()
        case .json(let v): value(v)
        case .u64(let n): value(n)
        }
    }
}

extension JSONWriter {
    /// Writes `"key": value`.
    mutating func member(_ key: String, _ v: some JSONScalar) {
        self.key(key)
        v.write(into: &self)
    }
}

/// A value that is one JSON token: the members of the daemon's messages.
protocol JSONScalar {
    func write(into w: inout JSONWriter)
}

extension String: JSONScalar { func write(into w: inout JSONWriter) { w.value(self) } }
extension Int: JSONScalar { func write(into w: inout JSONWriter) { w.value(self) } }
extension Bool: JSONScalar { func write(into w: inout JSONWriter) { w.value(self) } }
extension MessageID: JSONScalar { func write(into w: inout JSONWriter) { w.value(id: self) } }

/// A number, or null when absent (or not finite, as for every double the writer writes).
extension Optional: JSONScalar where Wrapped == Double {
    func write(into w: inout JSONWriter) { if let v = self { w.value(v) } else { w.null() } }
}

extension Double: JSONScalar { func write(into w: inout JSONWriter) { w.value(self) } }
