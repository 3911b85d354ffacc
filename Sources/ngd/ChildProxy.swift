import Foundation
import NGDSystem

/// `ngd proxy` as a child process on ephemeral loopback ports, for benchmarks and tests.
final class ChildProxy {
    let process = Process()
    /// The bound endpoints by role: input, to-daemons, from-daemons, output, control.
    private(set) var endpoints: [String: String] = [:]
    /// Its "serving" log line.
    private(set) var servingLine = ""
    /// Everything it has logged after the "serving" line.
    private let laterLog = Locked("")

    /// Starts the proxy (this executable, or `executable`) and waits for its "serving" log line,
    /// which names the bound endpoints.
    init(executable: String = ProcessStatus.executablePath, extraArguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        let roles = ["input", "to-daemons", "from-daemons", "output", "control"]
        process.arguments = ["proxy"] + extraArguments + roles.flatMap { ["--\($0)", "tcp://127.0.0.1:*"] }
        let err = Pipe()
        process.standardError = err
        try process.run()
        var text = ""
        while !text.contains("serving") || !text[text.range(of: "serving")!.upperBound...].contains("\n") {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { throw CommandFailure("the proxy did not start: \(text)") }
            text += String(decoding: d, as: UTF8.self)
        }
        let line = String(text[text.range(of: "serving")!.lowerBound...].prefix { $0 != "\n" })
        servingLine = line
        for role in roles {
            guard let r = line.range(of: " \(role)=") else { throw CommandFailure("the proxy said: \(text)") }
            endpoints[role] = String(line[r.upperBound...].prefix { $0 != " " && $0 != "\n" })
        }
        laterLog.collect(from: err.fileHandleForReading)
    }

    /// Whether the proxy logs `needle` (after its "serving" line) within `timeout` seconds.
    func waitForLog(_ needle: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if laterLog.value.contains(needle) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return laterLog.value.contains(needle)
    }

    /// SIGTERM, then waits; returns the exit status.
    @discardableResult func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
