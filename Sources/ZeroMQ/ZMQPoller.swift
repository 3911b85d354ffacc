import CZeroMQ

/// Waits until one of several sockets has a message to read (`zmq_poll` with `ZMQ_POLLIN`).
///
/// Thread safety: none; poll sockets on the thread that owns them.
public struct ZMQPoller {
    private var sockets: [ZMQSocket]
    private var items: [zmq_pollitem_t]

    /// Polls `sockets` for input.
    public init(_ sockets: [ZMQSocket]) {
        self.sockets = sockets
        items = sockets.map { zmq_pollitem_t(socket: $0.rawHandle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0) }
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever, 0 not at all) and returns, for each socket in
    /// the order given, whether it has a message ready. All false on a timeout.
    /// - Throws: ``ZMQError`` (ETERM on context shutdown).
    public mutating func poll(timeoutMilliseconds: Int) throws -> [Bool] {
        let n = Int32(items.count)
        let timeout = timeoutMilliseconds
        let r = try items.withUnsafeMutableBufferPointer { buf in
            try zmqCall("zmq_poll") { zmq_poll(buf.baseAddress, n, timeout) }
        }
        if case .wouldBlock = r { return Array(repeating: false, count: items.count) }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
