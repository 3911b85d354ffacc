import NGDMath
import NGDTestSupport
import Testing

@testable import NGDDaemon

@Suite struct TOMLTests {
    /// Hostile shapes a typo or a generated file can take: deep nesting overflowed the stack,
    /// a 60,000-part dotted key took 24 GB copying sub-tables, and 60,000 keys in one table
    /// took 55 s (a linear search per key). Each is an error or parses, with no crash; the
    /// tables built are the ones written.
    @Test func hostileShapesAreErrorsOrParse() throws {
        for (text, message) in [
            (
                "x = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
                "nested more than 64"
            ),
            (
                "x = " + String(repeating: "{a = ", count: 100_000) + "1" + String(repeating: "}", count: 100_000),
                "nested"
            ),
            ((0..<60_000).map { "p\($0)" }.joined(separator: ".") + " = 1", "more than 16 parts"),
            ("[" + (0..<60_000).map { "p\($0)" }.joined(separator: ".") + "]", "more than 16 parts"),
            ("[a]\nb.c.d = 1\n[a.b]\nc = 2", "key c is defined twice"),
        ] {
            do {
                _ = try TOMLParser.parse(text)
                Issue.record("accepted \(text.prefix(40))")
            } catch { #expect("\(error)".contains(message), "\(error)") }
        }
        let nested = try TOMLParser.parse(
            "x = " + String(repeating: "[", count: 63) + "1" + String(repeating: "]", count: 63))
        #expect(nested["x"] != nil)
        let many = try TOMLParser.parse("[t]\n" + (0..<60_000).map { "k\($0) = \($0)" }.joined(separator: "\n"))
        guard case .table(let t)? = many["t"] else { throw TOMLError(line: 0, message: "no table t") }
        #expect(t.entries.count == 60_000 && t["k59999"] == .integer(59_999) && t.entries[17].key == "k17")
        let dotted = try TOMLParser.parse("[a]\nb.c = 1\nb.d = 2\n[a.e]\nf = 3")
        #expect(dotted == (try TOMLParser.parse("a = {b = {c = 1, d = 2}, e = {f = 3}}")))
    }

    @Test func parsesTheSubsetNgdUses() throws {
        let t = try TOMLParser.parse(
            """
            # comment
            top = "a\\tb\\u00e9"   # trailing comment
            lit = 'C:\\path'
            [daemon]
            n = 1_000
            hex = 0xff
            f = -2.5e-3
            yes = true
            list = [1, 2,
                    3,  # comment inside
            ]
            inline = { a = 1, b.c = "x" }
            [models."my-model"]
            layers = [20, 20]
            """)
        #expect(t["top"] == .string("a\tbé") && t["lit"] == .string("C:\\path"))
        let d = try #require(t["daemon"]?.table)
        #expect(
            d["n"] == .integer(1000) && d["hex"] == .integer(255) && d["f"] == .float(-2.5e-3)
                && d["yes"] == .bool(true))
        #expect(d["list"] == .array([.integer(1), .integer(2), .integer(3)]))
        let inline = try #require(d["inline"]?.table)
        let b = try #require(inline["b"]?.table)
        #expect(inline["a"] == .integer(1) && b["c"] == .string("x"))
        let m = try #require(t["models"]?.table?["my-model"]?.table)
        #expect(m["layers"] == .array([.integer(20), .integer(20)]))
    }

    @Test(arguments: [
        ("a = ", "line 1: expected a value"), ("a = 1\na = 2", "line 2: key a is defined twice"),
        ("[x]\n[x]", "line 2: table [x] is defined twice"),
        ("a = hello", "line 1: invalid value hello (strings need quotes)"),
        ("a = \"open", "line 1: unterminated string"),
        ("[[t]]", "line 1: arrays of tables ([[...]]) are not supported"), ("a = [1, 2", "line 1: unterminated array"),
        ("a = 1 b = 2", "line 1: expected the end of the line"), ("a = 007", "line 1: leading zeros in 007"),
        ("a = 1979-05-27", "line 1: dates and times are not supported (1979-05-27)"),
        ("a = \"\"\"x\"\"\"", "line 1: multi-line strings are not supported"),
        ("a = 1__0", "line 1: invalid number 1__0"),
    ]) func syntaxErrorsNameTheLine(text: String, message: String) {
        #expect(throws: TOMLError.self) { try TOMLParser.parse(text) }
        do { _ = try TOMLParser.parse(text) } catch { #expect("\(error)" == message) }
    }
}

@Suite struct DaemonConfigTests {
    @Test func theExampleConfigIsValidAndComplete() throws {
        let text = try String(
            contentsOfFile: #filePath.replacingOccurrences(
                of: "Tests/NGDDaemonTests/ConfigTests.swift", with: "deploy/ngd.toml"), encoding: .utf8)
        let c = try DaemonConfig.parse(toml: text)
        try c.validate()
        #expect(c.models.map(\.name) == ["default"])
        #expect(
            c.input == "tcp://127.0.0.1:5555" && c.output == "tcp://127.0.0.1:5556"
                && c.control == "tcp://127.0.0.1:5557")
    }

    @Test func everyKeyIsRead() throws {
        let c = try DaemonConfig.parse(
            toml: """
                [daemon]
                input = "tcp://10.0.0.1:6000"
                input_pattern = "pull"
                input_mode = "connect"
                subscribe = "models"
                output = "ipc:///run/ngd/out"
                control = "tcp://127.0.0.1:7000"
                state_dir = "/var/lib/x"
                checkpoint_interval = 60
                stats_interval = 2.5
                loss_every = 10
                receive_hwm = 5
                send_hwm = 6
                max_message_size = 1024
                linger_ms = 250
                [models.m]
                topic = "t"
                layers = [3, 5, 1]
                activation = "relu"
                bias = false
                output_noise = 0.5
                optimizer = "ngd"
                learning_rate = 0.002
                batch = 8
                seed = 42
                prior_samples = 5
                min_floor = 0.00001
                factor_interval = 4
                damping = 0.1
                min_damping = 0.001
                max_damping = 100.0
                """)
        try c.validate()
        #expect(
            c.inputPattern == .pull && c.inputMode == .connect && c.subscribe == .models
                && c.stateDirectory == "/var/lib/x")
        #expect(
            c.checkpointInterval == 60 && c.statsInterval == 2.5 && c.lossEvery == 10 && c.receiveHighWaterMark == 5)
        #expect(c.sendHighWaterMark == 6 && c.maxMessageSize == 1024 && c.lingerMilliseconds == 250)
        let m = c.models[0]
        #expect(m.topic == "t" && m.layers == [3, 5, 1] && m.activation == .relu && !m.bias && m.outputNoise == 0.5)
        #expect(m.optimizer == .ngd && m.learningRate == 0.002 && m.blockSize == 8 && m.seed == 42)
        #expect(
            m.ngd.priorSamples == 5 && m.ngd.minimumFloor == 1e-5 && m.ngd.initialDamping == 0.1
                && m.ngd.minimumDamping == 0.001 && m.ngd.maximumDamping == 100)
        #expect(m.ngd.factorInterval == 4 && m.naturalGradientSettings.factorInterval == 4)
    }

    /// Every row of the settings tables is a key of its TOML table: setting it changes exactly
    /// that value.
    /// The input queue's worst case is receive_hwm × max_message_size per producer: 1000 × 1 MiB
    /// by default, unbounded (nil) with receive_hwm = 0, and nil rather than a trap when the
    /// product overflows.
    @Test func inputQueueBoundIsTheProductOfItsTwoSettings() {
        var c = DaemonConfig()
        #expect(c.inputQueueBound == 1000 * 1_048_576)
        c.receiveHighWaterMark = 0
        #expect(c.inputQueueBound == nil)
        c.receiveHighWaterMark = Int(Int32.max)
        c.maxMessageSize = Int.max / 2
        #expect(c.inputQueueBound == nil)
    }

    @Test func everySettingOfTheTablesIsAKey() throws {
        for (row, want) in daemonSettingCases() {
            let c = try DaemonConfig.parse(toml: "[daemon]\n\(row.name.configKey) = \(tomlLiteral(want))")
            #expect(row.value(in: c) == want, "daemon.\(row.name.configKey)")
        }
        for (name, optimizer, _, want) in modelSettingCases() {
            var text = "[models.m]\n\(name.configKey) = \(tomlLiteral(want))\n"
            if name != .optimizer { text += "optimizer = \"\(optimizer.rawValue)\"\n" }
            let m = try #require(try DaemonConfig.parse(toml: text).models.first)
            #expect(m.value(of: name) == want, "models.m.\(name.configKey) for \(optimizer)")
        }
    }

    @Test(arguments: [
        ("[daemon]\nimput = \"x\"", "daemon.imput: unknown key"),
        ("[models.a]\nlayers = [2, 2]\nlerning_rate = 1", "models.a.lerning_rate: unknown key"),
        (
            "[models.a]\nlayers = \"2,2\"",
            "models.a.layers (--layers): must be a list of integers such as 20,20,20, not a string (2,2)"
        ),
        (
            "[models.a]\nlayers = [2, 2]\nactivation = \"gelu\"",
            "models.a.activation (--activation): must be one of identity, tanh, relu, sigmoid, not a string (gelu)"
        ),
        (
            "[models.a]\nlayers = [2, 2]\noptimizer = \"lbfgs\"",
            "models.a.optimizer (--optimizer): must be one of ngd, sgd, adam, not a string (lbfgs)"
        ),
        (
            "[models.a]\nlayers = [2, 2]\noptimizer = \"sgd\"\nmemory_widths = 4",
            "models.a.memory_widths (--memory-widths): is a setting of optimizer ngd; this model's optimizer is sgd"
        ),
        ("[models.a]\nlayers = [2, 2.5]", "models.a.layers: must be an array of integers, e.g. [20, 20, 20]"),
        ("[models.a]\nlayers = [2, 0]", "models.a.layers"),
        ("[models.a]\nlayers = [2, 2]\nmemory_widths = 0.5", "models.a.memory_widths"),
        (
            "[models.a]\nlayers = [2, 2]\nfactor_interval = 0",
            "models.a.factor_interval (--factor-interval): must be in 1...1024, got 0"
        ),
        (
            "[models.a]\nlayers = [2, 2]\nfactor_interval = 1.5",
            "models.a.factor_interval (--factor-interval): must be an integer, not a number (1.5)"
        ),
        ("[models.a]\nlayers = [2, 2]\nmin_damping = 1.0\ndamping = 0.1", "models.a.damping"),
        (
            "[models.a]\nlayers = [2, 2]\n[models.b]\nlayers = [2, 2]\ntopic = \"a\"",
            "models.b.topic (--topic): 'a' is already the topic of model a"
        ),
        ("[models.\"a.b\"]\nlayers = [2, 2]", "models.a.b: a model name must be"),
        (
            "[daemon]\ninput = \"localhost:5\"\n[models.a]\nlayers = [2, 2]",
            "daemon.input (--input): 'localhost:5' is not a ZeroMQ endpoint"
        ),
        (
            "[daemon]\noutput = \"tcp://127.0.0.1:5555\"\n[models.a]\nlayers = [2, 2]",
            "daemon.output (--output): 'tcp://127.0.0.1:5555' is already used by daemon.input"
        ),
        ("[daemon]\nlinger_ms = -1\n[models.a]\nlayers = [2, 2]", "daemon.linger_ms"),
        ("[daemon]\nloss_every = 0\n[models.a]\nlayers = [2, 2]", "daemon.loss_every"),
        (
            "[daemon]\ncheckpoint_interval = \"1m\"",
            "daemon.checkpoint_interval (--checkpoint-interval): must be a number, not a string (1m)"
        ),
        // Durations that trapped when turned into a deadline, and one that would fire every turn.
        (
            "[daemon]\nstats_interval = 2e20\n[models.a]\nlayers = [2, 2]",
            "daemon.stats_interval (--stats-interval): must be 0 (off) or between 0.01 and 31536000 seconds"
        ),
        ("[daemon]\ncheckpoint_interval = 2e20\n[models.a]\nlayers = [2, 2]", "daemon.checkpoint_interval"),
        ("[daemon]\nstats_interval = 1e-300\n[models.a]\nlayers = [2, 2]", "daemon.stats_interval"),
        ("[daemon]\ncheckpoint_interval = -1\n[models.a]\nlayers = [2, 2]", "daemon.checkpoint_interval"),
        // Sizes each within bounds whose product no machine here holds (it aborted allocating).
        (
            "[models.a]\nlayers = [65536, 65536]",
            "models.a.layers (--layers): [65536, 65536] with optimizer ngd needs about 224 GiB of memory; this machine has"
        ),
        ("[models.a]\nlayers = [65536, 65536, 65536, 65536]\noptimizer = \"sgd\"", "needs about"),
        ("oops = 1", "oops: unknown table or key"), ("[daemon", "line 1: expected ']'"),
        // CURVE behind a proxy: the daemon's own key pair is needed, and a connected socket.
        (
            "[daemon.curve]\nproxy_key = \"p.key\"\n[models.a]\nlayers = [2, 2]",
            "daemon.curve.proxy_key (--curve-proxy-key): needs curve.server_key"
        ),
        (
            "[daemon.curve]\nserver_key = \"d.key_secret\"\nadmins = \"a\"\nproducers = \"p\"\nsubscribers = \"s\"\n"
                + "proxy_key = \"p.key\"\n[models.a]\nlayers = [2, 2]",
            "daemon.curve.proxy_key (--curve-proxy-key): has no socket to secure"
        ),
        (
            "[daemon]\ninput_mode = \"connect\"\n[daemon.curve]\nserver_key = \"d.key_secret\"\nadmins = \"a\"\n"
                + "proxy_key = \"p.key\"\n[models.a]\nlayers = [2, 2]",
            "daemon.curve.subscribers (--curve-subscribers): must name a directory"
        ),
    ]) func badConfigurationsNameTheKey(text: String, message: String) {
        do {
            let c = try DaemonConfig.parse(toml: text)
            try c.validate()
            Issue.record("accepted: \(text)")
        } catch { #expect("\(error)".contains(message), "\(error)") }
    }

    /// Behind a CURVE proxy, connected sockets are clients of the proxy and need no directory:
    /// only the bound control socket's `admins` is required.
    @Test func aDaemonBehindACurveProxyNeedsOnlyItsAdminsDirectory() throws {
        let c = try DaemonConfig.parse(
            toml: """
                [daemon]
                input_mode = "connect"
                output_mode = "connect"
                [daemon.curve]
                server_key = "d.key_secret"
                admins = "a"
                proxy_key = "p.key"
                [models.a]
                layers = [2, 2]
                """)
        try c.validate()
        #expect(c.curveProxyKey == "p.key")
    }

    /// `ngd proxy`'s settings: endpoints, queue size, and CURVE all-or-nothing, each error
    /// naming its flag.
    @Test func badProxySettingsNameTheFlag() {
        let cases: [((inout ProxyConfig) -> Void, String)] = [
            ({ $0.input = "localhost:5" }, "--input: 'localhost:5' is not a ZeroMQ endpoint"),
            ({ $0.output = $0.input }, "--output: 'tcp://127.0.0.1:5555' is given twice"),
            ({ $0.highWaterMark = -1 }, "--hwm: must be in 0...10000000"),
            ({ $0.metrics = "9558" }, "--metrics: '9558' is not HOST:PORT"),
            ({ $0.metrics = "127.0.0.1:70000" }, "--metrics: '127.0.0.1:70000' is not HOST:PORT"),
            ({ $0.curveDaemons = "/d" }, "--curve-daemons: needs --curve-server-key"),
            (
                { ($0.curveServerKey, $0.curveProducers, $0.curveDaemons, $0.curveSubscribers) = ("k", "p", "d", "s") },
                "--curve-admins: must name a directory"
            ),
        ]
        #expect(throws: Never.self) { try ProxyConfig().validate() }
        for (change, message) in cases {
            var c = ProxyConfig()
            change(&c)
            do {
                try c.validate()
                Issue.record("accepted: \(message)")
            } catch { #expect(error.description.contains(message), "\(error)") }
        }
    }
}

extension TOMLValue {
    /// The table, or nil.
    var table: TOMLTable? {
        if case .table(let t) = self { return t }
        return nil
    }
}
