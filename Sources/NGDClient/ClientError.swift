import NGDWire
import ZeroMQ

/// What went wrong talking to a daemon, and where.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// A socket call failed (the endpoint is malformed, or the context is shutting down).
    case socket(role: String, endpoint: String, underlying: ZMQError)
    /// No reply to a control request within the timeout. The control socket has been reset, so
    /// the next request can be sent.
    case timeout(request: String, endpoint: String, seconds: Double)
    /// A message could not be handed to libzmq within the producer's send timeout: a PUSH with
    /// no daemon connected (down, or refusing the CURVE key), or a full queue.
    case sendTimeout(endpoint: String, seconds: Double)
    /// The daemon answered with an `{"error": …}` reply.
    case rejected(request: String, reason: String)
    /// A reply or message that does not fit the protocol.
    case malformed(what: String, underlying: WireError)
    /// The handshake found no path to the daemon and back in time.
    case unreachable(input: String, output: String, seconds: Double)
    /// The server refused this client's CURVE handshake (`status`: the ZAP code, 0 when the
    /// protocol failed instead, e.g. a wrong server key). libzmq does not retry it.
    case refused(role: String, endpoint: String, status: UInt32)

    public var description: String {
        switch self {
        case .socket(let role, let endpoint, let e): "\(role) socket \(endpoint): \(e)"
        case .timeout(let request, let endpoint, let seconds):
            "no reply to \(request) from \(endpoint) within \(seconds) s (is the daemon running?)"
        case .sendTimeout(let endpoint, let seconds):
            "could not send to \(endpoint) within \(seconds) s: no daemon took the message (is it running, "
                + "is its queue full, is this CURVE key in its producers directory?)"
        case .rejected(let request, let reason): "the daemon refused \(request): \(reason)"
        case .malformed(let what, let e): "malformed \(what): \(e)"
        case .refused(let role, let endpoint, let status):
            status == 0
                ? "\(endpoint) refused the \(role)'s CURVE handshake: is --curve-server-key its public key?"
                : "\(endpoint) refused the \(role)'s CURVE key (ZAP status \(status)): list its NAME.key in the "
                    + "server's \(role == "producer" ? "producers" : "subscribers") directory"
        case .unreachable(let input, let output, let seconds):
            "no prediction came back within \(seconds) s: nothing connects \(input) to \(output) "
                + "(is the daemon running, and is the topic a model's?)"
        }
    }
}

extension ZMQHandshakeWatch {
    /// Throws ``ClientError/refused(role:endpoint:status:)`` for a refused handshake.
    func check(role: String, endpoint: String) throws(ClientError) {
        guard let e = refusal() else { return }
        throw .refused(role: role, endpoint: endpoint, status: e.kind.contains(.handshakeFailedAuth) ? e.value : 0)
    }
}

/// Runs a socket call, naming the socket's role and endpoint on failure.
@discardableResult func socketCall<T>(
    _ role: String, _ endpoint: String, _ body: () throws -> T
) throws(ClientError) -> T {
    do { return try body() } catch let e as ZMQError {
        throw .socket(role: role, endpoint: endpoint, underlying: e)
    } catch { fatalError("ZeroMQ calls throw ZMQError only: \(error)") }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int { Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000) }
    /// Seconds, for messages.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
