import ZeroMQ

/// A failure of the daemon itself (not of one message): which socket and what libzmq said.
public enum DaemonError: Error, Sendable, CustomStringConvertible {
    /// A socket could not be created, configured, bound or connected.
    case socket(role: String, endpoint: String, underlying: ZMQError)
    /// The checkpoint at shutdown failed: what was learned since the last good one is lost.
    case shutdownCheckpointFailed([String])

    public var description: String {
        switch self {
        case .socket(let role, let endpoint, let e): return "\(role) socket \(endpoint): \(e)"
        case .shutdownCheckpointFailed(let errors):
            return "stopped, but the final checkpoint failed: " + errors.joined(separator: "; ")
        }
    }
}
