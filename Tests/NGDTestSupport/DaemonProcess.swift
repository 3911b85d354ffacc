import Foundation
import NGDSystem

/// The `ngd` binary that `swift build` put next to this test bundle.
public func ngdExecutable() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("ngd").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/ngd").path
}

/// Runs `executable args…` to completion; returns its exit status and its stdout and stderr together.
public func runProcess(_ executable: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// A fresh empty directory under /tmp.
public func temporaryDirectory(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "ngd-test-\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A real `ngd serve` process on ephemeral loopback ports.
public final class DaemonProcess {
    public let process = Process()
    public let stateDir: String
    private let stderrText = Locked("")
    public private(set) var input = ""
    public private(set) var output = ""
    public private(set) var control = ""

    /// Starts `ngd serve args…` with `--state-dir` and ephemeral endpoints unless `args` sets them,
    /// and waits for its "serving" line. `expectStart: false` returns once it exits instead.
    public init(
        _ args: [String], stateDir: String? = nil, environment: [String: String] = [:], expectStart: Bool = true
    ) throws {
        self.stateDir = stateDir ?? temporaryDirectory("state")
        var full = ["serve", "--state-dir", self.stateDir, "--log-level", "debug"]
        for flag in ["--input", "--output", "--control"] where !args.contains(flag) {
            full += [flag, "tcp://127.0.0.1:*"]
        }
        process.executableURL = URL(fileURLWithPath: ngdExecutable())
        process.arguments = full + args
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "JOURNAL_STREAM")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        stderrText.collect(from: pipe.fileHandleForReading)
        try process.run()
        guard expectStart else {
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.1)
            return
        }
        guard waitForLog("serving", timeout: 30) else {
            process.terminate()
            throw HarnessError("daemon did not start: \(log)")
        }
        let line = log.split(separator: "\n").first(where: { $0.contains("serving") }).map(String.init) ?? ""
        func field(_ key: String) -> String {
            guard let r = line.range(of: " \(key)=") else { return "" }
            return String(line[r.upperBound...].prefix(while: { $0 != " " }))
        }
        input = field("input")
        output = field("output")
        control = field("control")
    }

    public var log: String { stderrText.value }

    public func waitForLog(_ needle: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if log.contains(needle) { return true }
            if !process.isRunning { return log.contains(needle) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status and the seconds it took.
    public func terminate(timeout: Double = 20) -> (status: Int32, seconds: Double) {
        let t0 = Date()
        kill(process.processIdentifier, SIGTERM)
        waitForExit(timeout)
        return (process.terminationStatus, Date().timeIntervalSince(t0))
    }

    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        waitForExit(20)
    }

    private func waitForExit(_ timeout: Double) {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
