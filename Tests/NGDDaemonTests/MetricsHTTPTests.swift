import Testing

@testable import NGDDaemon

/// The metrics endpoint's HTTP: request heads read against hand-written HTTP/1.x, the responses
/// each status gets, and the `metrics` setting.
@Suite struct MetricsHTTPTests {
    func parse(_ text: String) -> MetricsHTTP.Parse { MetricsHTTP.parse(Array(text.utf8)) }

    @Test func requestHeadsAreReadOnlyOnceTheyEnd() {
        let scrape = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
        #expect(parse(scrape) == .request(method: "GET", target: "/metrics"))
        for cut in 0..<(scrape.utf8.count - 1) {
            #expect(MetricsHTTP.parse(Array(scrape.utf8.prefix(cut))) == .incomplete, "\(cut) bytes")
        }
        #expect(parse("HEAD /metrics?a=1 HTTP/1.0\n\n") == .request(method: "HEAD", target: "/metrics?a=1"))
    }

    @Test(arguments: [
        ("GET /metrics\r\n\r\n", 400), ("get /metrics HTTP/1.1\r\n\r\n", 400), ("GET metrics HTTP/1.1\r\n\r\n", 400),
        ("GET /metrics HTTP/2.0\r\n\r\n", 505), ("GET  /metrics HTTP/1.1\r\n\r\n", 400),
        ("GET /m\u{7F} HTTP/1.1\r\n\r\n", 400),
    ]) func badRequestLinesGetTheirStatus(request: String, status: Int) {
        guard case .bad(let s, _) = parse(request) else {
            Issue.record("\(request.debugDescription) parsed as \(parse(request))")
            return
        }
        #expect(s == status)
    }

    @Test func anEndlessHeadIsRefusedAtItsLimit() {
        let long = Array("GET /metrics HTTP/1.1\r\nX: ".utf8) + [UInt8](repeating: 0x61, count: 9000)
        guard case .bad(431, _) = MetricsHTTP.parse(long) else {
            Issue.record("\(MetricsHTTP.parse(long))")
            return
        }
        #expect(MetricsHTTP.parse(Array(long.prefix(MetricsHTTP.maximumHeadBytes))) == .incomplete)
    }

    @Test func responsesCarryStatusLengthAndBody() {
        func text(_ p: MetricsHTTP.Parse) -> String {
            String(decoding: MetricsHTTP.response(to: p) { Array("m 1\n".utf8) }, as: UTF8.self)
        }
        let ok = text(.request(method: "GET", target: "/metrics"))
        #expect(
            ok.hasPrefix("HTTP/1.1 200 OK\r\n") && ok.contains("Content-Length: 4\r\n") && ok.hasSuffix("\r\n\r\nm 1\n")
        )
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4"))
        let head = text(.request(method: "HEAD", target: "/metrics"))
        #expect(head.contains("Content-Length: 4\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(text(.request(method: "GET", target: "/")).hasPrefix("HTTP/1.1 404"))
        #expect(text(.request(method: "DELETE", target: "/metrics")).contains("405 Method Not Allowed\r\n"))
        #expect(text(.request(method: "DELETE", target: "/metrics")).contains("Allow: GET, HEAD\r\n"))
        #expect(text(.incomplete).isEmpty)
    }

    @Test(arguments: ["", "127.0.0.1:9557", "localhost:*", "0.0.0.0:9557"]) func goodMetricsSettings(
        value: String
    ) throws {
        var c = DaemonConfig()
        c.models = [ModelConfig(name: "default", layers: [2, 1])]
        c.metrics = value
        try c.validate()
        #expect(c.metricsEndpoint == (value.isEmpty ? nil : "tcp://" + value))
    }

    @Test(arguments: [
        "9557", ":9557", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:x", "tcp://127.0.0.1:9557", "a b:1",
    ])
    func badMetricsSettingsNameTheKey(value: String) {
        var c = DaemonConfig()
        c.models = [ModelConfig(name: "default", layers: [2, 1])]
        c.metrics = value
        #expect(throws: ConfigError.self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("daemon.metrics"), "\(error)") }
    }
}
