import Foundation
import Prometheus

/// `ngd proxy`'s Prometheus metrics: libzmq's eight counters of each device (what STATISTICS
/// returns), read when a scrape comes, and the refused CURVE handshakes.
///
/// `ngd_proxy_messages_total` and `ngd_proxy_bytes_total` carry `side` (`input`: producers to
/// daemons; `output`: daemons to subscribers), `socket` (`frontend`: the XSUB, `backend`: the
/// XPUB) and `direction` (`in`: received by that socket, `out`: sent by it). A multipart message
/// (topic and payload) counts once; bytes count every frame.
///
/// Thread safety: none; the proxy loop's thread owns it.
final class ProxyMetrics {
    let registry = PrometheusCollectorRegistry()

    init(started: Date) { registerProcessInfo(registry, started: started) }

    /// The exposition text for `counters` (each device's eight values in libzmq's order) and
    /// `authFailures`.
    func render(_ counters: [(side: String, values: [UInt64])], authFailures: Int) -> [UInt8] {
        for (side, values) in counters {
            for (i, v) in values.prefix(8).enumerated() {
                let socket = i < 4 ? "frontend" : "backend"
                let direction = i % 4 < 2 ? "in" : "out"
                let family =
                    i % 2 == 0
                    ? metric(
                        "ngd_proxy_messages_total",
                        "Messages through each proxy socket, by direction (a multipart message counts once).")
                    : metric("ngd_proxy_bytes_total", "Bytes through each proxy socket, by direction.")
                let c = registry.makeCounter(
                    descriptor: family, labels: [("side", side), ("socket", socket), ("direction", direction)])
                c.reset()
                c.increment(by: Int64(clamping: v))
            }
        }
        let auth = registry.makeCounter(
            descriptor: metric("ngd_proxy_auth_failures_total", "CURVE handshakes the proxy refused since start."))
        auth.reset()
        auth.increment(by: Int64(authFailures))
        return registry.emitToBuffer()
    }
}
