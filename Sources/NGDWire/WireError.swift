/// Why an input payload was rejected. ``description`` is the `reason` sent on `error.<model>`.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither `{` (JSON) nor the `NGD1` magic starts the payload.
    case unknownEncoding(firstBytes: String)
    /// The JSON text is not valid JSON.
    case malformedJSON(String)
    /// Valid JSON of the wrong shape (not an object, `x` missing or not numbers, …).
    case badField(String)
    /// An NGD1 header field is invalid.
    case badHeader(String)
    /// The NGD1 payload length is not what its header implies.
    case lengthMismatch(expected: Int, got: Int)
    /// Rows of a batch have different lengths.
    case raggedBatch(field: String, row: Int, expected: Int, got: Int)
    /// A NaN or infinity in x or y.
    case nonFinite(field: String, sample: Int, index: Int)

    public var description: String {
        switch self {
        case .unknownEncoding(let first):
            return "payload is neither JSON (first non-space byte '{') nor NGD1 (magic 'NGD1'); it starts with \(first)"
        case .malformedJSON(let what): return "malformed JSON: \(what)"
        case .badField(let what): return what
        case .badHeader(let what): return "bad NGD1 header: \(what)"
        case .lengthMismatch(let e, let g):
            return "NGD1 payload length mismatch: the header implies \(e) bytes, the payload has \(g)"
        case .raggedBatch(let field, let row, let e, let g):
            return "ragged batch: \(field)[\(row)] has \(g) values, \(field)[0] has \(e)"
        case .nonFinite(let field, let sample, let index):
            return "non-finite value in \(field) (sample \(sample), index \(index))"
        }
    }
}
