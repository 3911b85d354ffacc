/// How a payload was encoded; replies use the same encoding.
public enum PayloadEncoding: Equatable, Sendable {
    case json
    case ngd1(NGD1.DType)
}

/// A client's correlation id, echoed back in the prediction and loss messages.
public enum MessageID: Equatable, Sendable {
    case none
    /// A JSON string or number, kept as parsed.
    case json(JSONValue)
    /// NGD1's u64 field.
    case u64(UInt64)
}

/// One decoded input message: `count` samples, row-major, all values finite.
public struct SampleMessage: Equatable, Sendable {
    /// k, the number of samples.
    public var count: Int
    /// n_x, values per input.
    public var inputWidth: Int
    /// n_y, values per target; 0 when the message is predict-only.
    public var outputWidth: Int
    /// k·n_x inputs.
    public var x: [Double]
    /// k·n_y targets, or nil for a predict-only message.
    public var y: [Double]?
    public var id: MessageID
    public var encoding: PayloadEncoding
    /// True when x was written as a list of vectors (JSON) — a reply then uses a list too.
    public var isBatch: Bool
    /// True when the targets came as JSON `"label"`: one class index per sample in y (width 1).
    /// (An NGD1 y of width 1 is a class index too when the model is categorical.)
    public var hasLabels = false

    public init(
        count: Int, inputWidth: Int, outputWidth: Int, x: [Double], y: [Double]?, id: MessageID,
        encoding: PayloadEncoding, isBatch: Bool
    ) {
        self.count = count
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.x = x
        self.y = y
        self.id = id
        self.encoding = encoding
        self.isBatch = isBatch
    }

    /// A message of `count` samples (x and y row-major), as a producer builds it; a batch
    /// unless `count` is 1.
    public init(x: [Double], y: [Double]?, count: Int, id: MessageID = .none, encoding: PayloadEncoding = .json) {
        let k = max(count, 1)
        self.init(
            count: count, inputWidth: x.count / k, outputWidth: (y?.count ?? 0) / k, x: x, y: y, id: id,
            encoding: encoding, isBatch: count != 1)
    }

    /// The payload in this message's encoding, as a producer sends it: NGD1 (a JSON id becomes
    /// 0), or `{"x": …, "y": …, "id": …}` with lists of vectors for a batch.
    public func encode() -> [UInt8] {
        switch encoding {
        case .ngd1(let dtype):
            var u: UInt64 = 0
            if case .u64(let n) = id { u = n }
            return NGD1.encode(
                dtype: dtype, count: count, inputWidth: inputWidth, outputWidth: outputWidth, id: u, x: x, y: y)
        case .json:
            var w = JSONWriter()
            w.beginObject()
            w.key("x")
            w.value(Rows(values: x, count: count, width: inputWidth, isBatch: isBatch))
            if let y, hasLabels {
                w.key("label")
                if isBatch { w.beginArray() }
                for c in y { w.value(Int(c)) }
                if isBatch { w.endArray() }
            } else if let y {
                w.key("y")
                w.value(Rows(values: y, count: count, width: outputWidth, isBatch: isBatch))
            }
            if id != .none {
                w.member("id", id)
            }
            w.endObject()
            return w.bytes
        }
    }

    /// Decodes an input payload: JSON when its first non-space byte is `{`, NGD1 when it starts
    /// with `NGD1`. Checks shape and finiteness; widths against a model are the caller's job.
    /// - Throws: ``WireError`` with a reason fit to send back to the producer.
    public static func decode(_ payload: [UInt8]) throws -> SampleMessage {
        if payload.count >= 4, payload[0] == 0x4E, payload[1] == 0x47, payload[2] == 0x44, payload[3] == 0x31 {
            return try NGD1.decode(payload)
        }
        let firstNonSpace = payload.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 })
        if firstNonSpace == UInt8(ascii: "{") { return try decodeJSON(payload) }
        let head = payload.prefix(8).map { b -> String in
            (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
        }.joined()
        throw WireError.unknownEncoding(firstBytes: payload.isEmpty ? "nothing (empty payload)" : "'\(head)'")
    }

    /// The id of a payload that ``decode(_:)`` refused, when it can still be read, so that the
    /// error reply carries it: a JSON object's string or number `"id"`, or an NGD1 header's id
    /// field (any payload of at least the header's 28 bytes starting with `NGD1`). `.none`
    /// otherwise. Linear in the payload, like the decoder.
    public static func readableID(_ payload: [UInt8]) -> MessageID {
        if payload.starts(with: NGD1.magic) {
            guard payload.count >= NGD1.headerSize else { return .none }
            var id: UInt64 = 0
            for b in payload[20..<28].reversed() { id = id << 8 | UInt64(b) }
            return .u64(id)
        }
        guard let doc = try? JSONValue.parse(payload), let iv = doc["id"] else { return .none }
        switch iv {
        case .string, .number: return .json(iv)
        default: return .none
        }
    }

    static func decodeJSON(_ payload: [UInt8]) throws -> SampleMessage {
        // The payload starts with '{', so a successful parse is an object.
        let doc = try JSONValue.parse(payload)
        guard let xv = doc["x"], xv != .null else { throw WireError.badField("missing x") }
        let (x, k, nx, batch) = try matrix(xv, field: "x")
        var y: [Double]?
        var ny = 0
        var labelled = false
        if let lv = doc["label"], lv != .null {
            guard doc["y"] == nil || doc["y"] == .null else { throw WireError.badField("give y or label, not both") }
            // One class index, or a list of them for a batch.
            let list = lv.array ?? [lv]
            guard lv.array == nil || batch else {
                throw WireError.badField("x is a single vector but label is a list")
            }
            guard lv.array != nil || !batch else {
                throw WireError.badField("x is a batch but label is a single class")
            }
            guard list.count == k else { throw WireError.badField("x has \(k) samples but label has \(list.count)") }
            var classes: [Double] = []
            for (r, c) in list.enumerated() {
                guard let n = c.int, n >= 0, n < 1 << 24 else {
                    throw WireError.badField("label must hold class indices 0, 1, 2, …; sample \(r) is \(c.typeName)")
                }
                classes.append(Double(n))
            }
            y = classes
            ny = 1
            labelled = true
        } else if let yv = doc["y"], yv != .null {
            let (yy, ky, n, yBatch) = try matrix(yv, field: "y")
            guard yBatch == batch else {
                throw WireError.badField(
                    batch
                        ? "x is a batch (a list of vectors) but y is a single vector"
                        : "x is a single vector but y is a batch (a list of vectors)")
            }
            guard ky == k else { throw WireError.badField("x has \(k) samples but y has \(ky)") }
            y = yy
            ny = n
        }
        var id = MessageID.none
        if let iv = doc["id"] {
            switch iv {
            case .string, .number: id = .json(iv)
            case .null: id = .none
            default: throw WireError.badField("id must be a string or a number, not \(iv.typeName)")
            }
        }
        var m = SampleMessage(
            count: k, inputWidth: nx, outputWidth: ny, x: x, y: y, id: id, encoding: .json, isBatch: batch)
        m.hasLabels = labelled
        return m
    }

    /// A vector `[..]` (one sample) or a list of equal-length vectors (a batch), flattened.
    public static func matrix(_ v: JSONValue, field: String) throws(WireError) -> ([Double], Int, Int, Bool) {
        guard case .array(let items) = v else {
            throw WireError.badField("\(field) must be an array of numbers, not \(v.typeName)")
        }
        guard !items.isEmpty else { throw WireError.badField("\(field) is empty") }
        if case .array = items[0] {
            var flat: [Double] = []
            var width = -1
            for (r, row) in items.enumerated() {
                guard case .array(let values) = row else {
                    throw WireError.badField("\(field)[\(r)] must be an array of numbers, not \(row.typeName)")
                }
                if width < 0 {
                    width = values.count
                    flat.reserveCapacity(width * items.count)
                }
                guard values.count == width else {
                    throw WireError.raggedBatch(field: field, row: r, expected: width, got: values.count)
                }
                try append(values, to: &flat, field: field, sample: r)
            }
            guard width > 0 else { throw WireError.badField("\(field)[0] is empty") }
            return (flat, items.count, width, true)
        }
        var flat: [Double] = []
        flat.reserveCapacity(items.count)
        try append(items, to: &flat, field: field, sample: 0)
        return (flat, 1, items.count, false)
    }

    static func append(_ values: [JSONValue], to flat: inout [Double], field: String, sample: Int) throws(WireError) {
        for (j, e) in values.enumerated() {
            guard case .number(let d, _) = e else {
                throw WireError.badField(
                    "\(field) must hold only numbers; sample \(sample), index \(j) is \(e.typeName)")
            }
            // A literal like 1e999 parses to infinity.
            guard d.isFinite else { throw WireError.nonFinite(field: field, sample: sample, index: j) }
            flat.append(d)
        }
    }
}
