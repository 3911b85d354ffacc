import Foundation
import NGDTestSupport
import Testing

/// deploy/ngd.service is accepted by systemd's own checker, with the built binary in place of
/// /usr/local/bin/ngd (verify insists that ExecStart exists).
@Suite struct DeploymentTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func systemdAnalyzeVerifyAcceptsTheUnit() throws {
        let unit = try String(contentsOf: root.appendingPathComponent("deploy/ngd.service"), encoding: .utf8)
        for directive in [
            "Type=notify", "WatchdogSec=", "Restart=on-failure", "StateDirectory=ngd", "ConfigurationDirectory=ngd",
            "DynamicUser=yes", "ProtectSystem=strict", "ExecStart=/usr/local/bin/ngd serve --config /etc/ngd/ngd.toml",
        ] { #expect(unit.contains(directive), "missing \(directive)") }
        let dir = temporaryDirectory("unit")
        let path = dir + "/ngd.service"
        try unit.replacingOccurrences(of: "/usr/local/bin/ngd", with: ngdExecutable()).write(
            toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try runProcess("/usr/bin/env", ["systemd-analyze", "verify", path])
        // verify exits 0 on unknown keys and only warns, so its output must be empty too.
        #expect(status == 0 && output.isEmpty, "systemd-analyze verify: \(output)")
    }
}
