/// `count` vectors of `width` numbers, row-major: a message's inputs or its predictions. JSON
/// writes them as one vector, or as a list of vectors when `isBatch` (which a reply copies from
/// its request).
public struct Rows: Equatable, Sendable {
    /// `count × width` values.
    public var values: [Double]
    public var count: Int
    public var width: Int
    public var isBatch: Bool

    public init(values: [Double], count: Int, width: Int, isBatch: Bool) {
        self.values = values
        self.count = count
        self.width = width
        self.isBatch = isBatch
    }

    /// The rows as a list of vectors (a batch).
    public init(_ rows: [[Double]]) {
        self.init(values: rows.flatMap { $0 }, count: rows.count, width: rows.first?.count ?? 0, isBatch: true)
    }

    /// One array per row.
    public var arrays: [[Double]] { (0..<count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) } }
}
