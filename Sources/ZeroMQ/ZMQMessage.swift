import CZeroMQ

/// One `zmq_msg_t`, kept at a stable heap address for its whole life.
///
/// libzmq stores messages of up to 33 bytes inside the struct itself, so a `zmq_msg_t` that moved
/// (a Swift value copied off the stack) would leave its data pointer dangling. This class
/// allocates the struct once, initialises it once and closes it exactly once, in deinit.
///
/// Thread safety: none; use it on one thread.
final class ZMQMessage {
    let pointer: UnsafeMutablePointer<zmq_msg_t>

    init() {
        pointer = .allocate(capacity: 1)
        // zmq_msg_init cannot fail.
        zmq_msg_init(pointer)
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// Receives one frame into this message, replacing what it held.
    func receive(from socket: UnsafeMutableRawPointer, flags: Int32, context: String) throws -> Bool {
        switch try zmqCall("zmq_msg_recv", context, { zmq_msg_recv(pointer, socket, flags) }) {
        case .done: return true
        case .wouldBlock: return false
        }
    }

    /// A copy of the frame's bytes (copied out, so they outlive the message).
    var bytes: [UInt8] {
        let n = zmq_msg_size(pointer)
        guard n > 0, let d = zmq_msg_data(pointer) else { return [] }
        return Array(UnsafeRawBufferPointer(start: d, count: n))
    }

    /// True when more frames of the same multipart message follow.
    var hasMore: Bool { zmq_msg_more(pointer) != 0 }
}
