/// The little HTTP/1.x the metrics endpoint speaks: it reads one request head per connection,
/// answers it and closes the connection (`Connection: close`), as Prometheus's scraper expects.
///
/// Parsing is one pass over at most ``maximumHeadBytes`` bytes; anything else is an error
/// response, never a crash or a wait for more than that.
enum MetricsHTTP {
    /// The longest request head read (request line and headers); longer gets 431.
    static let maximumHeadBytes = 8192

    /// The outcome of reading the bytes received so far on a connection.
    enum Parse: Equatable {
        /// The head has not ended yet (no blank line), and is still short enough.
        case incomplete
        /// A request line: method and target (path and query).
        case request(method: String, target: String)
        /// A request that cannot be served: the status and a reason for the body.
        case bad(status: Int, reason: String)
    }

    /// Reads `bytes`, the start of a connection's stream.
    static func parse(_ bytes: [UInt8]) -> Parse {
        // The head ends at the first empty line (CRLF CRLF, or bare LF LF from lax clients).
        var end: Int?
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                    end = i
                    break
                }
                if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A {
                    end = i
                    break
                }
            }
            i += 1
        }
        guard end != nil else {
            return bytes.count > maximumHeadBytes
                ? .bad(status: 431, reason: "request head longer than \(maximumHeadBytes) bytes") : .incomplete
        }
        guard let lineEnd = bytes.firstIndex(of: 0x0A) else { return .incomplete }
        var line = bytes[..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .bad(status: 400, reason: "malformed request line") }
        let method = parts[0]
        let target = parts[1]
        let version = parts[2]
        guard !method.isEmpty, method.count <= 16, method.allSatisfy({ (0x41...0x5A).contains($0) }) else {
            return .bad(status: 400, reason: "malformed method")
        }
        guard target.first == 0x2F, target.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return .bad(status: 400, reason: "malformed request target")
        }
        guard version.elementsEqual("HTTP/1.1".utf8) || version.elementsEqual("HTTP/1.0".utf8) else {
            return .bad(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are served")
        }
        return .request(
            method: String(decoding: method, as: UTF8.self), target: String(decoding: target, as: UTF8.self))
    }

    /// The response to `parsed` (a complete request or an error): `/metrics` (with any query)
    /// gets `body()` for GET and its headers for HEAD.
    static func response(to parsed: Parse, body: () -> [UInt8]) -> [UInt8] {
        switch parsed {
        case .incomplete: return []
        case .bad(let status, let reason): return make(status, Array((reason + "\n").utf8))
        case .request(let method, let target):
            let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard path == "/metrics" else { return make(404, Array("not found; the metrics are at /metrics\n".utf8)) }
            switch method {
            case "GET": return make(200, body(), type: "text/plain; version=0.0.4; charset=utf-8")
            case "HEAD": return make(200, body(), type: "text/plain; version=0.0.4; charset=utf-8", headOnly: true)
            default: return make(405, Array("only GET and HEAD\n".utf8), extra: "Allow: GET, HEAD\r\n")
            }
        }
    }

    static func make(
        _ status: Int, _ body: [UInt8], type: String = "text/plain; charset=utf-8", extra: String = "",
        headOnly: Bool = false
    ) -> [UInt8] {
        let reasons = [
            200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            431: "Request Header Fields Too Large", 505: "HTTP Version Not Supported",
        ]
        let head =
            "HTTP/1.1 \(status) \(reasons[status] ?? "Error")\r\nContent-Type: \(type)\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\(extra)\r\n"
        return Array(head.utf8) + (headOnly ? [] : body)
    }
}
