/// A compact, self-describing binary form for `Codable` values, used for checkpoint bodies.
///
/// JSONEncoder writes about 6 MB/s here, so a model with millions of parameters took seconds to
/// save. This format writes `[Double]` (weights, inverse covariances) as raw little-endian
/// bytes, bit-exact, and everything else as tagged values:
///
/// | tag | value |
/// |---|---|
/// | 0 | nil |
/// | 1 | bool: 1 byte |
/// | 2 | signed integer: 8 bytes |
/// | 3 | unsigned integer: 8 bytes |
/// | 4 | floating point: 8 bytes (IEEE 754 binary64 bits) |
/// | 5 | string: u32 byte count, UTF-8 |
/// | 6 | array: u32 count, values |
/// | 7 | keyed: u32 count, then (string, value) pairs |
/// | 8 | [Double]: u32 count, count × 8 bytes |
///
/// All integers are little-endian. Keys are stored, so optional and reordered fields decode as
/// with JSON.
enum BinaryCoder {
    indirect enum Node {
        case null
        case bool(Bool)
        case int(Int64)
        case uint(UInt64)
        case double(Double)
        case string(String)
        case array([Node])
        case keyed([(String, Node)])
        case doubles([Double])
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var out: [UInt8] = []
        write(try NodeEncoder.encode(value), into: &out)
        return out
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        var reader = Reader(bytes: bytes)
        let node = try reader.node(depth: 0)
        guard reader.offset == bytes.count else {
            throw Failure(description: "\(bytes.count - reader.offset) bytes after the value")
        }
        return try NodeDecoder.decode(T.self, from: node, path: [])
    }

    // MARK: Bytes

    static func write(_ node: Node, into out: inout [UInt8]) {
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
        func string(_ s: String) {
            u32(s.utf8.count)
            out += s.utf8
        }
        switch node {
        case .null: out.append(0)
        case .bool(let b): out += [1, b ? 1 : 0]
        case .int(let v):
            out.append(2)
            withUnsafeBytes(of: v.littleEndian) { out += $0 }
        case .uint(let v):
            out.append(3)
            withUnsafeBytes(of: v.littleEndian) { out += $0 }
        case .double(let v):
            out.append(4)
            withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
        case .string(let s):
            out.append(5)
            string(s)
        case .array(let items):
            out.append(6)
            u32(items.count)
            for i in items { write(i, into: &out) }
        case .keyed(let members):
            out.append(7)
            u32(members.count)
            for (k, v) in members {
                string(k)
                write(v, into: &out)
            }
        case .doubles(let a):
            out.append(8)
            u32(a.count)
            // The machine is little-endian (x86-64, arm64); bytes are written as stored.
            a.withUnsafeBytes { out += $0 }
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ n: Int) throws -> Range<Int> {
            guard n >= 0, bytes.count - offset >= n else { throw Failure(description: "truncated at byte \(offset)") }
            defer { offset += n }
            return offset..<(offset + n)
        }
        mutating func u64() throws -> UInt64 {
            let r = try take(8)
            return bytes.withUnsafeBytes {
                UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: r.lowerBound, as: UInt64.self))
            }
        }
        mutating func u32() throws -> Int {
            let r = try take(4)
            return Int(
                bytes.withUnsafeBytes {
                    UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: r.lowerBound, as: UInt32.self))
                })
        }
        mutating func string() throws -> String {
            let r = try take(try u32())
            guard let s = String(validating: bytes[r], as: UTF8.self) else {
                throw Failure(description: "invalid UTF-8 at byte \(r.lowerBound)")
            }
            return s
        }
        mutating func node(depth: Int) throws -> Node {
            guard depth < 64 else { throw Failure(description: "nesting deeper than 64") }
            let tag = bytes[try take(1).lowerBound]
            switch tag {
            case 0: return .null
            case 1: return .bool(bytes[try take(1).lowerBound] != 0)
            case 2: return .int(Int64(bitPattern: try u64()))
            case 3: return .uint(try u64())
            case 4: return .double(Double(bitPattern: try u64()))
            case 5: return .string(try string())
            case 6:
                let n = try u32()
                guard n <= bytes.count - offset else { throw Failure(description: "array count \(n) exceeds the data") }
                return .array(try (0..<n).map { _ in try node(depth: depth + 1) })
            case 7:
                let n = try u32()
                guard n <= bytes.count - offset else {
                    throw Failure(description: "member count \(n) exceeds the data")
                }
                return .keyed(try (0..<n).map { _ in (try string(), try node(depth: depth + 1)) })
            case 8:
                let n = try u32()
                let r = try take(n * 8)
                return .doubles(
                    bytes.withUnsafeBytes { raw in
                        (0..<n).map {
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: raw.loadUnaligned(
                                        fromByteOffset: r.lowerBound + 8 * $0, as: UInt64.self)))
                        }
                    })
            default: throw Failure(description: "unknown tag \(tag) at byte \(offset - 1)")
            }
        }
    }
}

// MARK: Encoding

/// A node under construction: containers hand out references to their children, so nested
/// containers need no write-back.
final class EncodingNode {
    enum Kind {
        case value(BinaryCoder.Node)
        case keyed, unkeyed
    }
    var kind: Kind = .value(.null)
    var members: [(String, EncodingNode)] = []
    var items: [EncodingNode] = []

    init() {}
    init(_ v: BinaryCoder.Node) { kind = .value(v) }

    var node: BinaryCoder.Node {
        switch kind {
        case .value(let v): return v
        case .keyed: return .keyed(members.map { ($0.0, $0.1.node) })
        case .unkeyed: return .array(items.map(\.node))
        }
    }
}

/// Builds a ``BinaryCoder/Node`` tree from an `Encodable` value.
struct NodeEncoder: Encoder {
    let target: EncodingNode
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func encode<T: Encodable>(_ value: T) throws -> BinaryCoder.Node {
        let root = EncodingNode()
        try fill(root, with: value)
        return root.node
    }

    /// Encodes `value` into `node`, with fast paths for scalars and [Double].
    static func fill<T: Encodable>(_ node: EncodingNode, with value: T) throws {
        switch value {
        case let a as [Double]: node.kind = .value(.doubles(a))
        case let b as Bool: node.kind = .value(.bool(b))
        case let d as Double: node.kind = .value(.double(d))
        case let f as Float: node.kind = .value(.double(Double(f)))
        case let s as String: node.kind = .value(.string(s))
        case let i as Int: node.kind = .value(.int(Int64(i)))
        case let i as Int64: node.kind = .value(.int(i))
        case let i as Int32: node.kind = .value(.int(Int64(i)))
        case let i as Int16: node.kind = .value(.int(Int64(i)))
        case let i as Int8: node.kind = .value(.int(Int64(i)))
        case let u as UInt: node.kind = .value(.uint(UInt64(u)))
        case let u as UInt64: node.kind = .value(.uint(u))
        case let u as UInt32: node.kind = .value(.uint(UInt64(u)))
        case let u as UInt16: node.kind = .value(.uint(UInt64(u)))
        case let u as UInt8: node.kind = .value(.uint(UInt64(u)))
        default: try value.encode(to: NodeEncoder(target: node))
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed = target.kind {
        } else {
            target.kind = .keyed
            target.members = []
        }
        return KeyedEncodingContainer(Keyed<Key>(node: target))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed = target.kind {
        } else {
            target.kind = .unkeyed
            target.items = []
        }
        return Unkeyed(node: target)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: target) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: EncodingNode
        var codingPath: [any CodingKey] { [] }
        func child(_ key: Key) -> EncodingNode {
            let c = EncodingNode()
            node.members.append((key.stringValue, c))
            return c
        }
        mutating func encodeNil(forKey key: Key) throws { _ = child(key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try NodeEncoder.fill(child(key), with: value)
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            NodeEncoder(target: child(key)).container(keyedBy: t)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            NodeEncoder(target: child(key)).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(target: child(Key(stringValue: "super")!)) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(target: child(key)) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: EncodingNode
        var codingPath: [any CodingKey] { [] }
        var count: Int { node.items.count }
        func child() -> EncodingNode {
            let c = EncodingNode()
            node.items.append(c)
            return c
        }
        mutating func encodeNil() throws { _ = child() }
        mutating func encode<T: Encodable>(_ value: T) throws { try NodeEncoder.fill(child(), with: value) }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type) -> KeyedEncodingContainer<N> {
            NodeEncoder(target: child()).container(keyedBy: t)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            NodeEncoder(target: child()).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(target: child()) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: EncodingNode
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { node.kind = .value(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { try NodeEncoder.fill(node, with: value) }
    }
}

// MARK: Decoding

/// Decodes a `Decodable` value from a ``BinaryCoder/Node`` tree.
struct NodeDecoder: Decoder {
    let node: BinaryCoder.Node
    let path: [String]
    var codingPath: [any CodingKey] { path.map { AnyKey(stringValue: $0) } }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { Int(stringValue) }
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { stringValue = String(intValue) }
    }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(node)"))
    }

    static func decode<T: Decodable>(_ type: T.Type, from node: BinaryCoder.Node, path: [String]) throws -> T {
        if T.self == [Double].self, case .doubles(let a) = node { return a as! T }
        let d = NodeDecoder(node: node, path: path)
        switch node {
        case .bool(let b) where T.self == Bool.self: return b as! T
        case .double(let v) where T.self == Double.self: return v as! T
        case .double(let v) where T.self == Float.self: return Float(v) as! T
        case .string(let s) where T.self == String.self: return s as! T
        default: if let v = try d.integer(T.self) { return v }
        }
        // A primitive that did not match its node must not recurse through T(from:).
        if T.self == Bool.self || T.self == Double.self || T.self == Float.self || T.self == String.self {
            throw d.mismatch("\(T.self)")
        }
        return try T(from: d)
    }

    /// The largest magnitude an `Int` or `Int64` may have in a checkpoint: 2⁵³.
    static let largestCount = 1 << 53

    /// Integer decoding with range checks, for every fixed-width integer type.
    func integer<T>(_ type: T.Type) throws -> T? {
        func convert<I: FixedWidthInteger>(_: I.Type) throws -> I {
            switch node {
            case .int(let v):
                guard let r = I(exactly: v) else { throw mismatch("a value in range of \(I.self)") }
                return r
            case .uint(let v):
                guard let r = I(exactly: v) else { throw mismatch("a value in range of \(I.self)") }
                return r
            default: throw mismatch("an integer")
            }
        }
        // Signed integers in a checkpoint are counts and sizes: a hand-made file with a counter
        // near Int.max would trap on the first `+= k`. Nothing real comes near 2⁵³ (285 years
        // at a million samples a second).
        func count<I: FixedWidthInteger>(_: I.Type) throws -> I {
            let v = try convert(I.self)
            guard v.magnitude <= Self.largestCount else { throw mismatch("a count of at most 2^53") }
            return v
        }
        switch type {
        case is Int.Type: return try count(Int.self) as? T
        case is Int64.Type: return try count(Int64.self) as? T
        case is Int32.Type: return try convert(Int32.self) as? T
        case is Int16.Type: return try convert(Int16.self) as? T
        case is Int8.Type: return try convert(Int8.self) as? T
        case is UInt.Type: return try convert(UInt.self) as? T
        case is UInt64.Type: return try convert(UInt64.self) as? T
        case is UInt32.Type: return try convert(UInt32.self) as? T
        case is UInt16.Type: return try convert(UInt16.self) as? T
        case is UInt8.Type: return try convert(UInt8.self) as? T
        default: return nil
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .keyed(let members) = node else { throw mismatch("a keyed container") }
        return KeyedDecodingContainer(
            Keyed<Key>(members: Dictionary(members, uniquingKeysWith: { a, _ in a }), path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch node {
        case .array(let items): return Unkeyed(items: items, path: path)
        case .doubles(let a): return Unkeyed(items: a.map { .double($0) }, path: path)
        default: throw mismatch("an array")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: BinaryCoder.Node]
        let path: [String]
        var codingPath: [any CodingKey] { path.map { AnyKey(stringValue: $0) } }
        var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }
        func value(_ key: Key) throws -> BinaryCoder.Node {
            guard let v = members[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: codingPath, debugDescription: "missing key \(key.stringValue)"))
            }
            return v
        }
        func decodeNil(forKey key: Key) throws -> Bool {
            if case .null = try value(key) { return true } else { return false }
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try NodeDecoder.decode(type, from: try value(key), path: path + [key.stringValue])
        }
        func nestedContainer<N: CodingKey>(keyedBy t: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try NodeDecoder(node: try value(key), path: path + [key.stringValue]).container(keyedBy: t)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try NodeDecoder(node: try value(key), path: path + [key.stringValue]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder {
            NodeDecoder(node: members["super"] ?? .null, path: path + ["super"])
        }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            NodeDecoder(node: try value(key), path: path + [key.stringValue])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [BinaryCoder.Node]
        let path: [String]
        var currentIndex = 0
        var codingPath: [any CodingKey] { path.map { AnyKey(stringValue: $0) } }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }
        mutating func next() throws -> BinaryCoder.Node {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    Any.self, .init(codingPath: codingPath, debugDescription: "array ended at \(currentIndex)"))
            }
            defer { currentIndex += 1 }
            return items[currentIndex]
        }
        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, case .null = items[currentIndex] else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let i = currentIndex
            return try NodeDecoder.decode(type, from: try next(), path: path + [String(i)])
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy t: N.Type) throws -> KeyedDecodingContainer<N> {
            try NodeDecoder(node: try next(), path: path).container(keyedBy: t)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try NodeDecoder(node: try next(), path: path).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { NodeDecoder(node: try next(), path: path) }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: NodeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { if case .null = decoder.node { return true } else { return false } }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try NodeDecoder.decode(type, from: decoder.node, path: decoder.path)
        }
    }
}
