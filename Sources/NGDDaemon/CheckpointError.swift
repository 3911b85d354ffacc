/// A checkpoint that cannot be read, does not fit the configuration, or cannot be written.
/// Each case names the file.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notACheckpoint(path: String)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, expected: Int, got: Int)
    case checksumMismatch(path: String)
    case undecodable(path: String, reason: String)
    case mismatch(path: String, what: String, saved: String, configured: String)
    case writeFailed(path: String, step: String, reason: String)
    /// The model has a NaN or infinite weight; it was not saved.
    case nonFinite(model: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read checkpoint \(p): \(r)"
        case .notACheckpoint(let p): return "\(p) is not an ngd checkpoint (bad magic bytes)"
        case .unsupportedVersion(let p, let v):
            return "\(p) has checkpoint format version \(v); this ngd reads version \(CheckpointFile.version)"
        case .truncated(let p, let e, let g):
            return "checkpoint \(p) is truncated: \(g) bytes where the header says \(e)"
        case .checksumMismatch(let p): return "checkpoint \(p) is corrupt: its CRC-32 does not match its contents"
        case .undecodable(let p, let r): return "checkpoint \(p) cannot be decoded: \(r)"
        case .mismatch(let p, let what, let saved, let configured):
            return "checkpoint \(p) was saved with \(what) \(saved) but the configuration says \(configured); "
                + "refusing to start so that the checkpoint is not overwritten (move it aside, or restore the old configuration)"
        case .writeFailed(let p, let step, let r): return "cannot save checkpoint \(p): \(step) failed: \(r)"
        case .nonFinite(let m):
            return "model \(m) has a NaN or infinite weight; not saved (the last good checkpoint is kept)"
        }
    }
}
