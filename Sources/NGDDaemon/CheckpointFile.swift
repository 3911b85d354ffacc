import Foundation
import NGDSystem

/// The on-disk envelope of a checkpoint, and atomic saving.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `NGDCKPT\n` |
/// | 8 | 4 | u32 format version (1), little-endian |
/// | 12 | 4 | u32 CRC-32 (zlib) of the body |
/// | 16 | 8 | u64 body length in bytes |
/// | 24 | | body: the model's state in ``BinaryCoder``'s tagged binary form |
///
/// A save writes `NAME.ngdckpt.tmp`, fsyncs it, renames it over `NAME.ngdckpt` and fsyncs the
/// directory, so a crash at any moment leaves either the old or the new checkpoint, whole.
enum CheckpointFile {
    static let magic: [UInt8] = Array("NGDCKPT\n".utf8)
    static let version: UInt32 = 1
    static let headerSize = 24
    static let suffix = ".ngdckpt"

    static func path(directory: String, model: String) -> String { directory + "/" + model + suffix }

    static func crc(_ body: [UInt8]) -> UInt32 { Zlib.crc32(body) }

    static func encode(_ c: ModelCheckpoint) throws -> [UInt8] {
        let body = try BinaryCoder.encode(c)
        var out = magic
        withUnsafeBytes(of: version.littleEndian) { out += $0 }
        withUnsafeBytes(of: crc(body).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { out += $0 }
        return out + body
    }

    /// Checks the envelope (magic, version, length, CRC) and decodes the body.
    static func decode(_ bytes: [UInt8], path: String) throws -> ModelCheckpoint {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic else {
            throw CheckpointError.notACheckpoint(path: path)
        }
        let (v, sum, length) = bytes.withUnsafeBytes { raw in
            (
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            )
        }
        guard v == version else { throw CheckpointError.unsupportedVersion(path: path, version: v) }
        // A length field near 2⁶⁴ must not overflow the sum (it trapped).
        let (expected, overflow) = UInt64(headerSize).addingReportingOverflow(length)
        guard !overflow, UInt64(bytes.count) == expected else {
            throw CheckpointError.truncated(
                path: path, expected: overflow ? .max : Int(clamping: expected), got: bytes.count)
        }
        let body = Array(bytes[headerSize...])
        guard crc(body) == sum else { throw CheckpointError.checksumMismatch(path: path) }
        do { return try BinaryCoder.decode(ModelCheckpoint.self, from: body) } catch {
            throw CheckpointError.undecodable(path: path, reason: "\(error)")
        }
    }

    /// Reads the checkpoint at `path`, or nil when there is none.
    static func load(path: String) throws -> ModelCheckpoint? {
        let bytes: [UInt8]?
        do { bytes = try FileIO.readAll(path: path) } catch {
            throw CheckpointError.unreadable(path: path, reason: error.description)
        }
        return try bytes.map { try decode($0, path: path) }
    }

    /// Writes `c` atomically (temporary file, fsync, rename, fsync of the directory).
    static func save(_ c: ModelCheckpoint, directory: String) throws -> String {
        let final = path(directory: directory, model: c.model)
        let bytes: [UInt8]
        do { bytes = try encode(c) } catch {
            throw CheckpointError.writeFailed(path: final, step: "encoding", reason: "\(error)")
        }
        do { try FileIO.writeAtomically(bytes, to: final, directory: directory) } catch {
            throw CheckpointError.writeFailed(
                path: final, step: "\(error.call)\(error.path.map { " of \($0)" } ?? "")", reason: error.reason)
        }
        return final
    }

    /// Creates the state directory (and parents) when missing.
    static func prepareDirectory(_ directory: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CheckpointError.writeFailed(
                    path: directory, step: "using the state directory", reason: "it is not a directory")
            }
        } else {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw CheckpointError.writeFailed(
                    path: directory, step: "creating the state directory", reason: "\(error)")
            }
        }
        guard access(directory, W_OK) == 0 else {
            throw CheckpointError.writeFailed(
                path: directory, step: "using the state directory", reason: String(cString: strerror(errno)))
        }
    }
}

/// Installs a checkpoint received from another daemon (`ngd snapshot`): the state directory of
/// a replica that has not started yet.
public enum CheckpointInstaller {
    /// Checks `file` (envelope, CRC, body, model name) and writes it atomically as
    /// `directory/MODEL.ngdckpt` (mode 0600), creating the directory when missing.
    /// - Returns: the path written.
    /// - Throws: ``CheckpointError`` when the file is not a whole checkpoint of `model`, when one
    ///   is already there and `replace` is false, or when writing fails.
    public static func install(
        _ file: [UInt8], model: String, directory: String, source: String, replace: Bool
    ) throws -> String {
        let c = try CheckpointFile.decode(file, path: source)
        guard c.model == model else {
            throw CheckpointError.undecodable(path: source, reason: "it holds model '\(c.model)', not '\(model)'")
        }
        let path = CheckpointFile.path(directory: directory, model: model)
        if !replace, FileManager.default.fileExists(atPath: path) {
            throw CheckpointError.writeFailed(
                path: path, step: "installing the snapshot",
                reason: "a checkpoint is already there (give --replace, with the daemon stopped)")
        }
        try CheckpointFile.prepareDirectory(directory)
        do { try FileIO.writeAtomically(file, to: path, directory: directory) } catch {
            throw CheckpointError.writeFailed(
                path: path, step: "\(error.call)\(error.path.map { " of \($0)" } ?? "")", reason: error.reason)
        }
        return path
    }
}
