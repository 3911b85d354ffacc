import Foundation
import Logging
import ZeroMQ

/// Keeps a connected socket (input or output with mode "connect") connected through refused
/// handshakes.
///
/// libzmq reconnects after a lost connection, but ends a session whose handshake failed (a key
/// the proxy does not list yet, a wrong `proxy_key`) and never tries again: measured with
/// libzmq 4.3.4, a refused CURVE client saw no event after its refusal. This watches the
/// socket's monitor and, after a failed handshake, disconnects and connects again after 1, 2,
/// 4, 8, then every 10 s, logging each refusal, until a handshake succeeds (logged once).
///
/// Thread safety: none; the serve loop's thread owns it and the socket.
final class UpstreamConnection {
    static let maximumBackoff: Duration = .seconds(10)
    let role: String
    let endpoint: String
    private let socket: ZMQSocket
    private let watch: ZMQHandshakeWatch
    private let logger: Logger
    private var backoff: Duration = .seconds(1)
    private var retryAt: ContinuousClock.Instant?
    private var failed = false
    /// Handshakes that failed since start.
    private(set) var failures = 0

    /// Starts monitoring `socket` (not connected yet).
    /// - Throws: ``ZMQError`` when the monitor cannot be set up.
    init(socket: ZMQSocket, context: ZMQContext, role: String, endpoint: String, logger: Logger) throws {
        let w = try ZMQHandshakeWatch(socket: socket, context: context)
        (self.socket, watch, self.role, self.endpoint, self.logger) = (socket, w, role, endpoint, logger)
    }

    /// Reads the monitor's events and reconnects when a retry is due. Call every turn.
    func turn(now: ContinuousClock.Instant = .now) {
        for e in watch.events() {
            if !e.kind.isDisjoint(with: .handshakeFailed) {
                failures += 1
                failed = true
                let why =
                    e.kind.contains(.handshakeFailedAuth)
                    ? "the proxy refused this daemon's key (ZAP status \(e.value)): list its .key in the proxy's --curve-daemons"
                    : "the handshake failed (is curve.proxy_key the proxy's key, and the endpoint an ngd proxy?)"
                logger.warning(
                    "connection refused; retrying",
                    metadata: [
                        "socket": "\(role)", "endpoint": "\(endpoint)", "reason": "\(why)", "retry_in": "\(backoff)",
                    ])
                retryAt = now + backoff
                backoff = min(backoff * 2, Self.maximumBackoff)
            } else if e.kind.contains(.handshakeSucceeded) {
                if failed { logger.notice("connected", metadata: ["socket": "\(role)", "endpoint": "\(endpoint)"]) }
                (failed, retryAt, backoff) = (false, nil, .seconds(1))
            }
        }
        guard let due = retryAt, now >= due else { return }
        retryAt = nil
        // (The failed session may already be gone, and with it the endpoint: ENOENT is fine.)
        try? socket.disconnect(endpoint)
        do { try socket.connect(endpoint) } catch {
            logger.error("cannot reconnect", metadata: ["socket": "\(role)", "error": "\(error)"])
        }
    }

    func close() { watch.close() }
}
