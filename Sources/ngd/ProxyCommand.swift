import ArgumentParser
import Dispatch
import Foundation
import NGDDaemon
import NGDSystem
import NGDWire
import ZeroMQ

/// `ngd proxy`: libzmq's own XSUB/XPUB proxy (`zmq_proxy_steerable`), twice, between producers,
/// daemons and subscribers, so that many daemons share one input and one output endpoint.
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward producers to many daemons and the daemons to subscribers, through libzmq's proxy.",
        discussion: """
            Two zmq_proxy_steerable devices, each on its own thread:
              input side:  producers' PUBs connect to --input (XSUB); daemons connect their SUB \
            input to --to-daemons (XPUB) with input_mode = "connect" and subscribe = "models".
              output side: daemons connect their PUB output to --from-daemons (XSUB) with \
            output_mode = "connect"; subscribers connect to --output (XPUB).
            Subscriptions travel upstream, so each daemon receives only its models' topics and \
            every subscriber reads every daemon's output from one endpoint.

            The control endpoint (REP) answers the steerable commands, as one-frame strings: \
            PAUSE and RESUME (both sides; empty reply), STATISTICS (a JSON object of both sides' \
            counters: messages and bytes received and sent by each socket) and TERMINATE (stops \
            the proxy, as SIGTERM does). `ngd tail --proxy ENDPOINT` prints the statistics.
            """)

    @Option(help: ArgumentHelp("Where producers' PUBs connect (XSUB).", valueName: "endpoint")) var input =
        "tcp://127.0.0.1:5555"
    @Option(help: ArgumentHelp("Where daemons' SUB inputs connect (XPUB).", valueName: "endpoint")) var toDaemons =
        "tcp://127.0.0.1:5565"
    @Option(help: ArgumentHelp("Where daemons' PUB outputs connect (XSUB).", valueName: "endpoint"))
    var fromDaemons = "tcp://127.0.0.1:5566"
    @Option(help: ArgumentHelp("Where subscribers connect (XPUB).", valueName: "endpoint")) var output =
        "tcp://127.0.0.1:5556"
    @Option(help: ArgumentHelp("Control endpoint (REP): PAUSE, RESUME, STATISTICS, TERMINATE.", valueName: "endpoint"))
    var control = "tcp://127.0.0.1:5567"
    @Option(help: ArgumentHelp("Messages queued per peer on each socket (0: unlimited).", valueName: "n")) var hwm =
        10_000

    func validate() throws {
        let endpoints = [input, toDaemons, fromDaemons, output, control]
        for e in endpoints where !e.contains("://") {
            throw ValidationError("'\(e)' is not a ZeroMQ endpoint such as tcp://127.0.0.1:5555")
        }
        for (i, e) in endpoints.enumerated() where !e.hasSuffix(":*") && endpoints[..<i].contains(e) {
            throw ValidationError("'\(e)' is given twice")
        }
        guard (0...10_000_000).contains(hwm) else { throw ValidationError("--hwm must be in 0...10000000") }
    }

    /// One side of the proxy: its two sockets' roles and endpoints.
    struct Side {
        let name: String
        let frontend: String
        let backend: String
        var controlEndpoint: String { "inproc://ngd-proxy-\(name)" }
    }

    func run() throws {
        let context = try ZMQContext()
        let sides = [
            Side(name: "input", frontend: input, backend: toDaemons),
            Side(name: "output", frontend: fromDaemons, backend: output),
        ]
        let bound = Locked<[String: Result<(String, String), any Error>]>([:])
        let done = DispatchSemaphore(value: 0)
        for side in sides {
            let t = Thread { [hwm] in
                defer { done.signal() }
                do {
                    let f = try ZMQSocket(context, type: .xsub, lingerMilliseconds: 0)
                    let b = try ZMQSocket(context, type: .xpub, lingerMilliseconds: 0)
                    // PAIR, not REP: libzmq 4.3.4 answers only STATISTICS, and a REP that does not
                    // reply cannot receive the next command.
                    let c = try ZMQSocket(context, type: .pair, lingerMilliseconds: 0)
                    defer {
                        f.close()
                        b.close()
                        c.close()
                    }
                    try f.setReceiveHighWaterMark(Int32(hwm))
                    try b.setSendHighWaterMark(Int32(hwm))
                    try f.bind(side.frontend)
                    try b.bind(side.backend)
                    try c.bind(side.controlEndpoint)
                    let endpoints = (try f.lastEndpoint(), try b.lastEndpoint())
                    bound.withLock { $0[side.name] = .success(endpoints) }
                    try ZMQSocket.proxySteerable(frontend: f, backend: b, control: c)
                } catch let e as ZMQError where e.isTerminated {
                } catch { bound.withLock { $0[side.name] = .failure(error) } }
            }
            t.name = "ngd-proxy-\(side.name)"
            t.start()
        }
        let stop = StopSignal()
        let signals = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig)
            s.setEventHandler { stop.request() }
            s.resume()
            return s
        }
        defer { for s in signals { s.cancel() } }
        while bound.value.count < sides.count { Thread.sleep(forTimeInterval: 0.005) }
        var failures: [String] = []
        for side in sides { if case .failure(let e) = bound.value[side.name] { failures.append("\(side.name): \(e)") } }
        let notifier = SystemdNotifier()
        let outer = try? ZMQSocket(context, type: .rep, lingerMilliseconds: 0)
        do { try outer?.bind(control) } catch { failures.append("control: \(error)") }
        // The inner control sockets, one PAIR to each side.
        var inner: [ZMQSocket] = []
        for side in sides where failures.isEmpty {
            let r = try ZMQSocket(context, type: .pair, lingerMilliseconds: 0)
            try r.setReceiveTimeout(milliseconds: 5000)
            try r.connect(side.controlEndpoint)
            inner.append(r)
        }
        func shutdown() {
            for r in inner {
                _ = try? r.send(["TERMINATE"])
                r.close()
            }
            outer?.close()
            if !failures.isEmpty { context.terminate() }
            for _ in sides { done.wait() }
            context.terminate()
        }
        guard failures.isEmpty, let outer else {
            shutdown()
            throw CommandFailure("the proxy could not start: " + failures.joined(separator: "; "))
        }
        let e = sides.map { bound.value[$0.name].flatMap { try? $0.get() } ?? ("?", "?") }
        let controlBound = (try? outer.lastEndpoint()) ?? control
        writeStandardError(
            "ngd proxy: serving input=\(e[0].0) to-daemons=\(e[0].1) from-daemons=\(e[1].0) output=\(e[1].1) control=\(controlBound)\n"
        )
        notifier.notify("READY=1\nSTATUS=proxying\nMAINPID=\(getpid())")
        var poller = ZMQPoller([outer])
        while !stop.isRequested {
            notifier.watchdogIfDue()
            guard try poller.poll(timeoutMilliseconds: 100)[0], let request = try outer.receive(wait: false) else {
                continue
            }
            let command = request.count == 1 ? String(decoding: request[0], as: UTF8.self).uppercased() : ""
            switch command {
            case "PAUSE", "RESUME":
                for r in inner { try r.send([command]) }
                try outer.send([[UInt8]()])
            case "STATISTICS": try outer.send([Array(statistics(inner, sides).utf8)])
            case "TERMINATE":
                try outer.send([[UInt8]()])
                stop.request()
            default:
                try outer.send([
                    Array(#"{"error": "unknown command; send PAUSE, RESUME, STATISTICS or TERMINATE"}"#.utf8)
                ])
            }
        }
        notifier.notify("STOPPING=1")
        shutdown()
        writeStandardError("ngd proxy: stopped\n")
    }

    /// Both sides' eight counters as one JSON object.
    func statistics(_ inner: [ZMQSocket], _ sides: [Side]) throws -> String {
        let names = [
            "frontend_messages_in", "frontend_bytes_in", "frontend_messages_out", "frontend_bytes_out",
            "backend_messages_in", "backend_bytes_in", "backend_messages_out", "backend_bytes_out",
        ]
        var w = JSONWriter()
        w.beginObject()
        for (r, side) in zip(inner, sides) {
            try r.send(["STATISTICS"])
            let frames = try r.receive() ?? []
            w.key(side.name)
            w.beginObject()
            for (name, f) in zip(names, frames) where f.count == 8 {
                var v: UInt64 = 0
                for (i, byte) in f.enumerated() { v |= UInt64(byte) << (8 * UInt64(i)) }
                w.key(name)
                w.value(v)
            }
            w.endObject()
        }
        w.endObject()
        return w.string
    }
}
