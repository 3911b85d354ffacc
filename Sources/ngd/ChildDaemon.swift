import Foundation
import NGDClient
import NGDSystem

/// `ngd serve` as a child process on ephemeral loopback ports, for benchmarks.
final class ChildDaemon {
    let process = Process()
    let stateDirectory: String
    let endpoints: (input: String, output: String, control: String)
    var pid: Int32 { process.processIdentifier }

    /// Starts `ngd serve ARGUMENTS` (this executable, or `executable`) and waits for its
    /// "serving" log line, which names the endpoints. `arguments` must include `--state-dir`;
    /// `--input`, `--output` and `--control` default to free loopback ports.
    init(executable: String = ProcessStatus.executablePath, arguments: [String]) throws {
        guard let i = arguments.firstIndex(of: "--state-dir"), i + 1 < arguments.count else {
            throw CommandFailure("ChildDaemon needs --state-dir")
        }
        stateDirectory = arguments[i + 1]
        process.executableURL = URL(fileURLWithPath: executable)
        let ephemeral = ["--input", "--output", "--control"].filter { !arguments.contains($0) }.flatMap {
            [$0, "tcp://127.0.0.1:*"]
        }
        process.arguments = ["serve"] + arguments + ephemeral + ["--log-level", "notice"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        var text = ""
        let h = err.fileHandleForReading
        while !text.contains("serving") {
            let d = h.availableData
            if d.isEmpty {
                process.waitUntilExit()
                throw CommandFailure("the daemon did not start: \(text)")
            }
            text += String(decoding: d, as: UTF8.self)
        }
        func field(_ key: String) -> String {
            guard let r = text.range(of: " \(key)=") else { return "" }
            return String(text[r.upperBound...].prefix(while: { $0 != " " && $0 != "\n" }))
        }
        endpoints = (field("input"), field("output"), field("control"))
        // Keep reading its log so that a full pipe never blocks it.
        h.readabilityHandler = { handle in _ = handle.availableData }
    }

    struct Stop {
        var status: Int32
        var seconds: Double
        /// The size of the checkpoint file after the daemon exited, nil when there is none.
        var checkpointBytes: Int?
    }

    /// SIGTERM, then waits for the exit (SIGKILL after 60 s).
    func stop() -> Stop {
        let t0 = ContinuousClock.now
        Foundation.kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill() }
        process.waitUntilExit()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        let checkpoint = files.first(where: { $0.hasSuffix(".ngdckpt") }).flatMap {
            (try? FileManager.default.attributesOfItem(atPath: stateDirectory + "/" + $0))?[.size] as? Int
        }
        return Stop(
            status: process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
            seconds: (ContinuousClock.now - t0).seconds, checkpointBytes: checkpoint)
    }

    /// SIGKILL when still running.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}
