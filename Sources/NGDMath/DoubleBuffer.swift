/// A fixed-size Float64 array on the heap, at an address that never moves.
///
/// The hot paths hand raw pointers to BLAS, so they need storage whose address is stable and
/// whose accesses carry no copy-on-write or exclusivity checks. One `DoubleBuffer` owns its
/// allocation and frees it exactly once, in `deinit`.
///
/// Thread safety: none. A buffer belongs to the one optimizer (and so the one thread) that uses it.
package final class DoubleBuffer {
    /// The first element. Valid for `count` elements for the lifetime of the buffer.
    package let base: UnsafeMutablePointer<Double>
    /// The number of elements.
    package let count: Int

    /// A buffer of `count` elements, all set to `value`.
    package init(count: Int, repeating value: Double = 0) {
        precondition(count >= 0, "DoubleBuffer count must be non-negative")
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    package convenience init(_ values: [Double]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in if let s = src.baseAddress { base.update(from: s, count: values.count) }
        }
    }

    deinit { base.deallocate() }

    /// Element access (bounds-checked; not for inner loops).
    package subscript(index: Int) -> Double {
        get {
            precondition(index >= 0 && index < count, "DoubleBuffer index out of range")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "DoubleBuffer index out of range")
            base[index] = newValue
        }
    }

    /// A copy of the contents as an array.
    package var array: [Double] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Overwrites the contents with `values`, which must have `count` elements.
    package func assign(_ values: [Double]) {
        precondition(values.count == count, "DoubleBuffer.assign: size mismatch")
        values.withUnsafeBufferPointer { src in if let s = src.baseAddress { base.update(from: s, count: count) } }
    }

    /// Sets every element to `value`.
    package func fill(_ value: Double) { base.update(repeating: value, count: count) }
}
