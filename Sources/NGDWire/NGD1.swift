/// The NGD1 binary payload (docs/protocol.md). All fields little-endian:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `NGD1` |
/// | 4 | 1 | dtype: 1 = float32, 2 = float64 |
/// | 5 | 1 | flags: bit 0 = y present; bit 1 = this is a prediction (output only) |
/// | 6 | 2 | reserved, 0 |
/// | 8 | 4 | u32 k ≥ 1 |
/// | 12 | 4 | u32 n_x (0 in a prediction) |
/// | 16 | 4 | u32 n_y (0 when no y) |
/// | 20 | 8 | u64 id |
/// | 28 | | x (k·n_x values), then y (k·n_y values) when flag bit 0 is set |
public enum NGD1 {
    /// Bytes before the values.
    public static let headerSize = 28
    public static let magic: [UInt8] = Array("NGD1".utf8)
    public static let flagHasY: UInt8 = 1
    public static let flagPrediction: UInt8 = 2

    public enum DType: UInt8, Sendable {
        case float32 = 1
        case float64 = 2

        public var size: Int { self == .float32 ? 4 : 8 }
    }

    /// Decodes an NGD1 input payload. Float32 values are widened to Double exactly.
    /// - Throws: ``WireError`` for a bad header, a length mismatch or a non-finite value.
    public static func decode(_ p: [UInt8]) throws -> SampleMessage {
        guard p.count >= headerSize else {
            throw WireError.badHeader("the payload has \(p.count) bytes, shorter than the \(headerSize)-byte header")
        }
        return try p.withUnsafeBytes { raw -> SampleMessage in
            guard let dtype = DType(rawValue: raw[4]) else {
                throw WireError.badHeader("dtype \(raw[4]) is not 1 (float32) or 2 (float64)")
            }
            let flags = raw[5]
            guard flags & ~flagHasY == 0 else {
                throw WireError.badHeader(
                    flags & flagPrediction != 0
                        ? "flag bit 1 (prediction) is for output only"
                        : "unknown flag bits 0x\(String(flags, radix: 16))")
            }
            let reserved = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            guard reserved == 0 else { throw WireError.badHeader("reserved bytes 6–7 must be 0, got \(reserved)") }
            let k = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            let nx = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
            let ny = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
            let id = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 20, as: UInt64.self))
            let hasY = flags & flagHasY != 0
            guard k >= 1 else { throw WireError.badHeader("k is 0; a message holds at least one sample") }
            guard nx >= 1 else { throw WireError.badHeader("n_x is 0: missing x") }
            guard hasY || ny == 0 else { throw WireError.badHeader("n_y is \(ny) but flag bit 0 (y present) is clear") }
            guard !hasY || ny >= 1 else { throw WireError.badHeader("flag bit 0 (y present) is set but n_y is 0") }
            // Sizes come from u32 fields, so k·n_x alone can pass 2⁶³: every product is checked.
            guard let expected = expectedLength(count: k, inputWidth: nx, outputWidth: hasY ? ny : 0, dtype: dtype)
            else {
                throw WireError.badHeader(
                    "k = \(k), n_x = \(nx), n_y = \(ny) describe more values than a payload can hold")
            }
            guard p.count == expected else { throw WireError.lengthMismatch(expected: expected, got: p.count) }
            var x = [Double](repeating: 0, count: k * nx)
            var y: [Double]? = hasY ? [Double](repeating: 0, count: k * ny) : nil
            try read(raw, offset: headerSize, into: &x, dtype: dtype, width: nx, field: "x")
            if hasY {
                try read(raw, offset: headerSize + k * nx * dtype.size, into: &y!, dtype: dtype, width: ny, field: "y")
            }
            return SampleMessage(
                count: k, inputWidth: nx, outputWidth: ny, x: x, y: y, id: .u64(id), encoding: .ngd1(dtype),
                isBatch: k > 1)
        }
    }

    /// The byte length of a payload with these sizes, or nil when it overflows.
    static func expectedLength(count k: Int, inputWidth nx: Int, outputWidth ny: Int, dtype: DType) -> Int? {
        let (a, o1) = k.multipliedReportingOverflow(by: nx)
        let (b, o2) = k.multipliedReportingOverflow(by: ny)
        let (values, o3) = a.addingReportingOverflow(b)
        let (bytes, o4) = values.multipliedReportingOverflow(by: dtype.size)
        let (total, o5) = bytes.addingReportingOverflow(headerSize)
        return o1 || o2 || o3 || o4 || o5 ? nil : total
    }

    static func read(
        _ raw: UnsafeRawBufferPointer, offset: Int, into out: inout [Double], dtype: DType, width: Int, field: String
    ) throws {
        for j in 0..<out.count {
            let v = load(raw, offset: offset, index: j, dtype: dtype)
            guard v.isFinite else { throw WireError.nonFinite(field: field, sample: j / width, index: j % width) }
            out[j] = v
        }
    }

    /// Value `j` of an array of `dtype` values starting at byte `offset`, widened to Double.
    @inline(__always) static func load(_ raw: UnsafeRawBufferPointer, offset: Int, index j: Int, dtype: DType) -> Double
    {
        switch dtype {
        case .float32:
            return Double(
                Float(
                    bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * j, as: UInt32.self))
                ))
        case .float64:
            return Double(
                bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8 * j, as: UInt64.self)))
        }
    }

    /// Encodes a header and values. For an input message pass `x` and optionally `y`; for a
    /// prediction pass `prediction: true`, no x (`inputWidth` 0) and the predictions as `y`.
    public static func encode(
        dtype: DType, count k: Int, inputWidth nx: Int, outputWidth ny: Int, id: UInt64, x: [Double], y: [Double]?,
        prediction: Bool = false
    ) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(headerSize + (x.count + (y?.count ?? 0)) * dtype.size)
        out += magic
        out.append(dtype.rawValue)
        out.append((y != nil && !prediction ? flagHasY : 0) | (prediction ? flagPrediction : 0))
        out += [0, 0]
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        u32(k)
        u32(nx)
        u32(ny)
        withUnsafeBytes(of: id.littleEndian) { out += $0 }
        func values(_ a: [Double]) {
            for v in a {
                switch dtype {
                case .float32: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out += $0 }
                case .float64: withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
                }
            }
        }
        values(x)
        if let y { values(y) }
        return out
    }

    /// Decodes a prediction payload (as a client would): returns k, n_y, id, the k·n_y values
    /// and their type.
    public static func decodePrediction(
        _ p: [UInt8]
    ) throws(WireError) -> (count: Int, outputWidth: Int, id: UInt64, values: [Double], dtype: DType) {
        guard p.count >= headerSize, Array(p[0..<4]) == magic else { throw .badHeader("not an NGD1 payload") }
        guard let dtype = DType(rawValue: p[4]) else { throw .badHeader("bad dtype \(p[4])") }
        guard p[5] == flagPrediction else { throw .badHeader("flags \(p[5]) are not a prediction's") }
        let (k, ny, id) = p.withUnsafeBytes { raw in
            (
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))),
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 20, as: UInt64.self))
            )
        }
        guard let expected = expectedLength(count: k, inputWidth: 0, outputWidth: ny, dtype: dtype) else {
            throw .badHeader("k = \(k), n_y = \(ny) describe more values than a payload can hold")
        }
        guard p.count == expected else { throw .lengthMismatch(expected: expected, got: p.count) }
        let v = p.withUnsafeBytes { raw in (0..<(k * ny)).map { load(raw, offset: headerSize, index: $0, dtype: dtype) }
        }
        return (k, ny, id, v, dtype)
    }
}
