import NGDMath
import NGDSystem

/// What went wrong reading a dataset, and which file.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be opened.
    case cannotOpen(path: String)
    /// The file is not an IDX image file (wrong magic number or dimensions).
    case notIDXImages(path: String, detail: String)
    /// The file ends before the size its header promises.
    case truncated(path: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let path): return "cannot open \(path): it is missing or not readable"
        case .notIDXImages(let path, let detail): return "\(path) is not an IDX image file: \(detail)"
        case .truncated(let path, let expected, let got):
            return "\(path) is truncated: its header promises \(expected) bytes of pixels, it holds \(got)"
        }
    }
}

/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 28×28 grey-scale images of clothing, 60,000
/// for training and 10,000 for testing, as shipped by Debian's `dataset-fashion-mnist`.
public enum FashionMNIST {
    /// Where Debian installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The training images file name.
    public static let trainImages = "train-images-idx3-ubyte.gz"
    /// The test images file name.
    public static let testImages = "t10k-images-idx3-ubyte.gz"

    /// Reads an IDX3 image file (gzip'd or plain; zlib reads both) and returns the images as an
    /// autoencoding dataset: inputs = targets = pixels / 255, one 784-wide row per image.
    ///
    /// - Parameter limit: read at most this many images.
    /// - Throws: ``DatasetError`` when the file is missing, not IDX3, or truncated.
    public static func loadImages(path: String, limit: Int = .max) throws -> Dataset {
        guard let file = Zlib.Reader(path: path) else { throw DatasetError.cannotOpen(path: path) }
        var header = [UInt8](repeating: 0, count: 16)
        let got = header.withUnsafeMutableBytes { file.read(into: $0) }
        guard got == 16 else { throw DatasetError.notIDXImages(path: path, detail: "shorter than the 16-byte header") }
        func word(_ i: Int) -> Int {
            Int(header[i]) << 24 | Int(header[i + 1]) << 16 | Int(header[i + 2]) << 8 | Int(header[i + 3])
        }
        guard word(0) == 0x0000_0803 else {
            throw DatasetError.notIDXImages(
                path: path, detail: "magic number \(word(0)), expected 2051 (unsigned bytes, 3 dimensions)")
        }
        let total = word(4)
        let rows = word(8)
        let columns = word(12)
        guard rows > 0, columns > 0, rows * columns <= 1 << 20, total >= 0 else {
            throw DatasetError.notIDXImages(path: path, detail: "dimensions \(total) × \(rows) × \(columns)")
        }
        let count = min(total, limit)
        let width = rows * columns
        var pixels = [UInt8](repeating: 0, count: count * width)
        let read = pixels.withUnsafeMutableBytes { file.read(into: $0) }
        guard read == pixels.count else { throw DatasetError.truncated(path: path, expected: pixels.count, got: read) }
        let values = pixels.map { Double($0) / 255 }
        return Dataset(inputs: values, targets: values, count: count, inputSize: width, outputSize: width)
    }
}
