extension JSONValue {
    /// The number, or nil.
    public var double: Double? {
        if case .number(let d, _) = self { return d }
        return nil
    }

    /// The string, or nil.
    public var text: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number as an integer when it is one exactly, or nil.
    public var int: Int? { double.flatMap { Int(exactly: $0) } }

    /// The elements of an array, or nil.
    public var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The boolean, or nil.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}

/// Typed reads of an object's members, each failure a ``WireError`` naming the message and the
/// field. For decoders of the daemon's own messages (output payloads, control requests and
/// replies).
struct JSONFields {
    let object: JSONValue
    /// What is being read, for error messages, e.g. "loss message".
    let what: String

    init(_ value: JSONValue, _ what: String) throws(WireError) {
        guard case .object = value else { throw .badField("\(what) must be a JSON object, not \(value.typeName)") }
        object = value
        self.what = what
    }

    init(parsing bytes: [UInt8], _ what: String) throws(WireError) {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch let e as WireError { throw e } catch {
            throw .malformedJSON("\(error)")
        }
        try self.init(value, what)
    }

    func missing(_ key: String, _ type: String) -> WireError { .badField("\(what): \"\(key)\" must be \(type)") }

    func has(_ key: String) -> Bool { object[key] != nil }

    func string(_ key: String) throws(WireError) -> String {
        guard let s = object[key]?.text else { throw missing(key, "a string") }
        return s
    }

    func optionalString(_ key: String) throws(WireError) -> String? {
        guard let v = object[key], v != .null else { return nil }
        guard let s = v.text else { throw missing(key, "a string or null") }
        return s
    }

    func int(_ key: String) throws(WireError) -> Int {
        guard let n = object[key]?.int else { throw missing(key, "an integer") }
        return n
    }

    func bool(_ key: String) throws(WireError) -> Bool {
        guard let b = object[key]?.bool else { throw missing(key, "true or false") }
        return b
    }

    /// A number; `null` (how the daemon writes NaN and ±∞) reads as NaN.
    func number(_ key: String) throws(WireError) -> Double {
        switch object[key] {
        case .number(let d, _)?: return d
        case .null?: return .nan
        default: throw missing(key, "a number")
        }
    }

    /// A number, or nil for `null` or a missing member.
    func optionalNumber(_ key: String) throws(WireError) -> Double? {
        switch object[key] {
        case .number(let d, _)?: return d
        case .null?, nil: return nil
        default: throw missing(key, "a number or null")
        }
    }

    /// `"id"`: a string or number kept as written, or none.
    func id() throws(WireError) -> MessageID {
        switch object["id"] {
        case nil, .null?: return .none
        case let v? where v.text != nil || v.double != nil: return .json(v)
        case let v?: throw .badField("\(what): \"id\" must be a string or a number, not \(v.typeName)")
        }
    }

    /// A vector of numbers (one row) or a list of equal-length vectors (`isBatch`), flattened;
    /// `null` entries read as NaN (the daemon writes non-finite values as null).
    func rows(_ key: String) throws(WireError) -> Rows {
        guard case .array(let items)? = object[key] else { throw missing(key, "an array") }
        func numbers(_ row: [JSONValue]) throws(WireError) -> [Double] {
            var out: [Double] = []
            out.reserveCapacity(row.count)
            for v in row {
                switch v {
                case .number(let d, _): out.append(d)
                case .null: out.append(.nan)
                default: throw missing(key, "numbers")
                }
            }
            return out
        }
        guard case .array = items.first else {
            return Rows(values: try numbers(items), count: 1, width: items.count, isBatch: false)
        }
        var flat: [Double] = []
        var width = -1
        for item in items {
            guard case .array(let row) = item else { throw missing(key, "a list of vectors") }
            if width < 0 { width = row.count }
            guard row.count == width else { throw missing(key, "a list of equal-length vectors") }
            flat += try numbers(row)
        }
        return Rows(values: flat, count: items.count, width: max(width, 0), isBatch: true)
    }
}
