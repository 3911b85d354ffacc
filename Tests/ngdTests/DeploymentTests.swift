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

/// The scale-out units: the daemon template (an instance of it) and the proxy pass
/// `systemd-analyze verify` with no output.
@Suite struct ScaleOutUnitTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func systemdAnalyzeVerifyAcceptsTheTemplateAndTheProxy() throws {
        let dir = temporaryDirectory("units")
        var paths: [String] = []
        for (source, installed) in [
            ("ngd@.service", "ngd@shard-a.service"), ("ngd-proxy.service", "ngd-proxy.service"),
        ] {
            let unit = try String(contentsOf: root.appendingPathComponent("deploy/" + source), encoding: .utf8)
            let path = dir + "/" + installed
            try unit.replacingOccurrences(of: "/usr/local/bin/ngd", with: ngdExecutable()).write(
                toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let template = try String(contentsOfFile: paths[0], encoding: .utf8)
        #expect(template.contains("--config /etc/ngd/%i.toml") && template.contains("StateDirectory=ngd/%i"))
        #expect(try String(contentsOfFile: paths[1], encoding: .utf8).contains(" proxy --input "))
        let (status, output) = try runProcess("/usr/bin/env", ["systemd-analyze", "verify"] + paths)
        #expect(status == 0 && output.isEmpty, "systemd-analyze verify: \(output)")
    }
}
