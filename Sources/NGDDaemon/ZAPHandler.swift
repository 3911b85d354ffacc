import Logging
import ZeroMQ

/// The ZAP handler of one ZeroMQ context (RFC 27): a REP socket bound at
/// `inproc://zeromq.zap.01` that answers each CURVE handshake of the context's server sockets
/// from a ``CurveAccess``. Bind it before any CURVE socket, so no handshake passes unchecked.
///
/// Thread safety: none; the thread that polls ``socket`` owns it.
final class ZAPHandler {
    /// The REP socket, for the owner's poller.
    let socket: ZMQSocket
    private(set) var access: CurveAccess
    /// Handshakes refused since start.
    private(set) var failures = 0
    private let logger: Logger
    private var log = LogRateLimit()

    /// Binds the handler in `context`.
    /// - Throws: ``ZMQError`` when the endpoint is taken (another handler in this context).
    init(context: ZMQContext, access: CurveAccess, logger: Logger) throws {
        let s = try ZMQSocket(context, type: .rep, lingerMilliseconds: 0)
        do { try s.bind("inproc://zeromq.zap.01") } catch {
            s.close()
            throw error
        }
        (socket, self.access, self.logger) = (s, access, logger)
    }

    /// Answers the requests libzmq has queued: 200 for a key listed for the socket's domain,
    /// 400 (counted, and logged at most 10 times a minute) otherwise.
    func handle() throws {
        while let request = try socket.receive(wait: false) {
            let admitted = access.admits(request)
            if !admitted {
                failures += 1
                let domain = request.count > 2 ? String(decoding: request[2], as: UTF8.self) : "?"
                let address = request.count > 3 ? String(decoding: request[3], as: UTF8.self) : "?"
                log.log(logger, "refused handshakes not logged") {
                    logger.warning(
                        "refused a CURVE handshake", metadata: ["socket": "\(domain)", "peer": "\(address)"])
                }
            }
            try socket.send(CurveAccess.reply(to: request, admitted: admitted))
        }
    }

    /// Reads every key directory again (SIGHUP); keeps the previous keys when one cannot be
    /// read, so a bad edit never locks everyone out.
    func reload() {
        do {
            access = try access.reloaded()
            logger.notice(
                "reloaded CURVE keys",
                metadata: access.allowed.reduce(into: [:]) { m, e in m[e.key.rawValue] = "\(e.value.count)" })
        } catch {
            logger.error("kept the previous CURVE keys", metadata: ["error": "\(error)"])
        }
    }

    func close() { socket.close() }
}
