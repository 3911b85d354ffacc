import ZeroMQ

/// The metrics endpoint on the serve loop: a `ZMQ_STREAM` socket (raw TCP through libzmq, so
/// it is polled with the other sockets and needs no thread or HTTP library), one request per
/// connection, answered at once and closed.
///
/// At most ``maximumConnections`` connections keep a partial request (the oldest is dropped
/// beyond that), each at most ``MetricsHTTP/maximumHeadBytes`` long, so a client that never
/// finishes its request costs a bounded amount of memory and no time.
///
/// Thread safety: none; the serve loop's thread owns it.
final class MetricsServer {
    static let maximumConnections = 64
    let socket: ZMQSocket
    /// Bytes received so far from each connection still reading its request, oldest first.
    private var pending: [(id: [UInt8], bytes: [UInt8])] = []

    init(socket: ZMQSocket) { self.socket = socket }

    /// The ZeroMQ endpoint (`tcp://HOST:PORT`) of a `HOST:PORT` setting such as
    /// `127.0.0.1:9557` (port 1–65535, or `*` for any free one); nil when it is not one.
    static func endpoint(forSetting setting: String) -> String? {
        guard let colon = setting.lastIndex(of: ":") else { return nil }
        let host = setting[..<colon]
        let port = setting[setting.index(after: colon)...]
        guard !host.isEmpty, !host.contains("/"), !host.contains(" "),
            port == "*" || (Int(port).map { (1...65535).contains($0) } ?? false)
        else { return nil }
        return "tcp://\(setting)"
    }

    /// The scrape URL of a bound endpoint: `tcp://127.0.0.1:9557` → `http://127.0.0.1:9557/metrics`.
    static func url(forEndpoint endpoint: String) -> String {
        "http://" + endpoint.dropFirst("tcp://".count) + "/metrics"
    }

    /// Reads everything queued and answers each complete request with `body()`'s bytes.
    func serve(body: () -> [UInt8]) throws {
        while let frames = try socket.receive(wait: false) {
            guard frames.count == 2 else { continue }
            let (id, data) = (frames[0], frames[1])
            let index = pending.firstIndex { $0.id == id }
            // An empty frame announces a connection or its end.
            guard !data.isEmpty else {
                if let index { pending.remove(at: index) }
                continue
            }
            var bytes = index.map { pending[$0].bytes } ?? []
            bytes += data.prefix(MetricsHTTP.maximumHeadBytes + 1 - min(bytes.count, MetricsHTTP.maximumHeadBytes + 1))
            let parsed = MetricsHTTP.parse(bytes)
            if parsed == .incomplete {
                if let index {
                    pending[index].bytes = bytes
                } else {
                    if pending.count >= Self.maximumConnections { close(pending.removeFirst().id) }
                    pending.append((id, bytes))
                }
                continue
            }
            if let index { pending.remove(at: index) }
            // A peer too slow to take the reply loses it; a scraper simply retries.
            _ = try socket.send([id, MetricsHTTP.response(to: parsed, body: body)], wait: false)
            close(id)
        }
    }

    private func close(_ id: [UInt8]) { _ = try? socket.send([id, []], wait: false) }
}
