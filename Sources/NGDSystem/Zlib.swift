import CZlib

/// zlib, behind one wrapper: CRC-32 checksums and reading gzip'd (or plain) files.
public enum Zlib {
    /// The CRC-32 of `bytes` (zlib's `crc32`, the checksum of gzip and PNG).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt = 0
        var rest = bytes[...]
        // zlib takes a 32-bit length; feed longer inputs in chunks.
        while true {
            let chunk = rest.prefix(1 << 30)
            crc = chunk.withUnsafeBufferPointer { CZlib.crc32(crc, $0.baseAddress, uInt($0.count)) }
            rest = rest.dropFirst(chunk.count)
            if rest.isEmpty { return UInt32(truncatingIfNeeded: crc) }
        }
    }

    /// A gzip'd or plain file open for reading.
    public final class Reader {
        private let file: gzFile

        /// Opens `path`; nil when it cannot be opened.
        public init?(path: String) {
            guard let f = gzopen(path, "rb") else { return nil }
            file = f
        }

        deinit { gzclose(file) }

        /// Reads up to `count` bytes into `buffer`; returns how many were read (0 at the end,
        /// or on an error).
        public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
            var total = 0
            while total < buffer.count {
                let chunk = UInt32(min(buffer.count - total, 1 << 24))
                let n = Int(gzread(file, buffer.baseAddress! + total, chunk))
                if n <= 0 { break }
                total += n
            }
            return total
        }
    }
}
