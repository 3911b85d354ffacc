import ArgumentParser
import Foundation

/// Installs a Debian package on demand, the way the README's commands do: `apt-get install`,
/// through `sudo` when not root, with one `apt-get update` retry when the package is unknown.
enum DebianPackage {
    /// Makes sure `file` exists, installing `package` when it does not.
    /// - Throws: ``CommandFailure`` with a message that says what to run by hand.
    static func ensureInstalled(_ package: String, providing file: String, log: (String) -> Void) throws {
        if FileManager.default.fileExists(atPath: file) { return }
        log("\(file) is missing; installing Debian package \(package)")
        let prefix = getuid() == 0 ? [] : ["sudo", "-n"]
        let env = ["DEBIAN_FRONTEND=noninteractive"]
        let install = prefix + ["env"] + env + ["apt-get", "install", "-y", "-q", package]
        if run(install) != 0 {
            _ = run(prefix + ["apt-get", "update", "-q"])
            _ = run(install)
        }
        guard FileManager.default.fileExists(atPath: file) else {
            throw CommandFailure(
                "\(file) is missing and installing \(package) failed; run `sudo apt-get install \(package)`, or pass --data DIR"
            )
        }
    }

    /// Runs a command with its output sent to standard error; returns its exit status.
    private static func run(_ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.standardOutput = FileHandle.standardError
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
