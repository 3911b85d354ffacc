import Foundation
import Synchronization

/// A value shared between threads behind a `Synchronization.Mutex`: the one lock type of the
/// package. A class, so that closures on other threads can hold it.
///
/// Thread safety: every method may be called from any thread.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with the value, exclusively.
    public func withLock<Result: Sendable>(_ body: (inout sending Value) throws -> sending Result) rethrows -> Result {
        try mutex.withLock(body)
    }

    /// A copy of the value.
    public var value: Value { mutex.withLock { $0 } }
}

extension Locked where Value == String {
    /// Appends everything `handle` yields, as UTF-8 text, from Foundation's reading thread
    /// until end of file (a child process's stderr, kept for its log).
    public func collect(from handle: FileHandle) {
        handle.readabilityHandler = { [self] h in
            let d = h.availableData
            if d.isEmpty {
                h.readabilityHandler = nil
                return
            }
            withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
    }
}
