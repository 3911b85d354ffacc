import Foundation
import NGDTestSupport
import Testing

@testable import ngd

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

/// deploy/curve: the drop-ins that hand each unit its CURVE secret key as a systemd credential
/// (a dynamic user cannot read a root-owned 0600 file). Each passes `systemd-analyze verify` with
/// its unit, and its ExecStart, with `%d`, `%i` and /etc/ngd replaced by a scratch directory
/// holding keys from `ngd keygen`, starts: the proxy with CURVE on, the daemons serving.
@Suite(.serialized) struct CurveDropInTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The drop-in's `LoadCredential=NAME:PATH` and its last `ExecStart=` (without the executable),
    /// after systemd accepted it beside `unit` installed as `installed`.
    func verified(unit: String, installed: String) throws -> (credential: (String, String), arguments: [String]) {
        let dir = temporaryDirectory("curve-units")
        let exe = ngdExecutable()
        let text = try String(contentsOf: root.appendingPathComponent("deploy/\(unit)"), encoding: .utf8)
        try text.replacingOccurrences(of: "/usr/local/bin/ngd", with: exe).write(
            toFile: "\(dir)/\(installed)", atomically: true, encoding: .utf8)
        let dropIn = try String(
            contentsOf: root.appendingPathComponent("deploy/curve/\(unit).d/curve.conf"), encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(dir)/\(unit).d", withIntermediateDirectories: true)
        try dropIn.replacingOccurrences(of: "/usr/local/bin/ngd", with: exe).write(
            toFile: "\(dir)/\(unit).d/curve.conf", atomically: true, encoding: .utf8)
        let (status, output) = try runProcess("/usr/bin/env", ["systemd-analyze", "verify", "\(dir)/\(installed)"])
        #expect(status == 0 && output.isEmpty, "systemd-analyze verify \(installed) + curve.conf: \(output)")
        let lines = dropIn.split(separator: "\n").map(String.init)
        let credential = try #require(
            lines.first { $0.hasPrefix("LoadCredential=") }?.dropFirst(15).split(separator: ":"))
        let exec = try #require(lines.last { $0.hasPrefix("ExecStart=/") }).dropFirst(10).split(separator: " ").map(
            String.init)
        #expect(exec.first == "/usr/local/bin/ngd" && lines.contains("ExecStart="), "ExecStart is reset, then set")
        return ((String(credential[0]), String(credential[1])), Array(exec.dropFirst()))
    }

    /// A scratch /etc/ngd: key pairs for the proxy, the daemon and shard-a, the four directories,
    /// and a credentials directory holding the file LoadCredential names.
    func scratch(credential: (String, String), instance: String) throws -> (etc: String, credentials: String) {
        let etc = temporaryDirectory("curve-etc")
        let credentials = temporaryDirectory("curve-credentials")
        for sub in ["keys/producers", "keys/daemons", "keys/subscribers", "keys/admins"] {
            try FileManager.default.createDirectory(atPath: "\(etc)/\(sub)", withIntermediateDirectories: true)
        }
        for name in ["proxy", "daemon", "shard-a"] {
            #expect(try runProcess(ngdExecutable(), ["keygen", name, "--dir", "\(etc)/keys"]).status == 0)
        }
        let source = credential.1.replacingOccurrences(of: "%i", with: instance).replacingOccurrences(
            of: "/etc/ngd", with: etc)
        try FileManager.default.copyItem(atPath: source, toPath: "\(credentials)/\(credential.0)")
        return (etc, credentials)
    }

    func substituted(_ args: [String], etc: String, credentials: String, instance: String) -> [String] {
        args.map {
            $0.replacingOccurrences(of: "%d", with: credentials).replacingOccurrences(of: "%i", with: instance)
                .replacingOccurrences(of: "/etc/ngd", with: etc).replacingOccurrences(
                    of: "127.0.0.1:9558", with: "127.0.0.1:*")
        }
    }

    @Test func theProxyDropInStartsWithCurveOn() throws {
        let (credential, args) = try verified(unit: "ngd-proxy.service", installed: "ngd-proxy.service")
        let (etc, credentials) = try scratch(credential: credential, instance: "")
        let run = substituted(args, etc: etc, credentials: credentials, instance: "")
        #expect(run.first == "proxy")
        let proxy = try ChildProxy(executable: ngdExecutable(), extraArguments: Array(run.dropFirst()))
        #expect(proxy.servingLine.contains("curve=on"), "\(proxy.servingLine)")
        #expect(proxy.stop() == 0)
    }

    @Test(arguments: [("ngd.service", "ngd.service", ""), ("ngd@.service", "ngd@shard-a.service", "shard-a")])
    func theDaemonDropInsStart(unit: String, installed: String, instance: String) throws {
        let (credential, args) = try verified(unit: unit, installed: installed)
        let (etc, credentials) = try scratch(credential: credential, instance: instance)
        let config = instance.isEmpty ? "\(etc)/ngd.toml" : "\(etc)/\(instance).toml"
        // The template's instance sits behind a proxy; the plain unit binds its own sockets.
        let toml =
            instance.isEmpty
            ? "[daemon.curve]\nproducers = \"\(etc)/keys/producers\"\nsubscribers = \"\(etc)/keys/subscribers\"\n"
                + "admins = \"\(etc)/keys/admins\"\n[models.default]\nlayers = [2, 1]\n"
            : "[daemon]\ninput_mode = \"connect\"\noutput_mode = \"connect\"\n[daemon.curve]\nproxy_key = \"\(etc)/keys/proxy.key\"\n"
                + "admins = \"\(etc)/keys/admins\"\n[models.m]\nlayers = [2, 1]\n"
        try toml.write(toFile: config, atomically: true, encoding: .utf8)
        let run = substituted(args, etc: etc, credentials: credentials, instance: instance)
        #expect(run.first == "serve")
        // (A proxy that is not there: connecting is asynchronous, so the daemon serves anyway.)
        let endpoints = instance.isEmpty ? [] : ["--input", "tcp://127.0.0.1:9", "--output", "tcp://127.0.0.1:10"]
        let d = try DaemonProcess(Array(run.dropFirst()) + endpoints)
        #expect(d.log.contains("curve=on"), "\(d.log)")
        #expect(d.terminate().status == 0)
    }
}
