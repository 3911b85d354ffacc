import Foundation

/// Watches one socket's handshakes through a monitor, so that a client can tell "refused" from
/// "nobody there yet": libzmq reports a refused CURVE key only as a monitor event, and does not
/// retry such a connection.
///
/// Thread safety: none; use it on the thread that owns the socket.
public final class ZMQHandshakeWatch {
    private let monitor: ZMQSocket
    /// The last handshake failure not followed by a success.
    private var failure: ZMQMonitorEvent?

    /// Starts monitoring `socket`; call before `connect`.
    /// - Throws: ``ZMQError`` when the monitor cannot be set up.
    public init(socket: ZMQSocket, context: ZMQContext) throws {
        let address = "inproc://ngd-handshake-\(UUID().uuidString)"
        try socket.monitor(address, events: [.handshakeFailed, .handshakeSucceeded])
        let m = try ZMQSocket(context, type: .pair, lingerMilliseconds: 0)
        do { try m.connect(address) } catch {
            m.close()
            throw error
        }
        monitor = m
    }

    /// The handshake events queued since the last call, oldest first.
    public func events() -> [ZMQMonitorEvent] {
        var out: [ZMQMonitorEvent] = []
        while let frames = try? monitor.receive(wait: false), let e = ZMQMonitorEvent(frames: frames) {
            if !e.kind.isDisjoint(with: .handshakeFailed) {
                failure = e
            } else if e.kind.contains(.handshakeSucceeded) {
                failure = nil
            }
            out.append(e)
        }
        return out
    }

    /// The last failed handshake, unless one succeeded after it; reads the events queued so far.
    public func refusal() -> ZMQMonitorEvent? {
        _ = events()
        return failure
    }

    public func close() { monitor.close() }
}
