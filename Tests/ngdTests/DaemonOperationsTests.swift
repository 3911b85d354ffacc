import Foundation
import NGDTestSupport
import NGDWire
import Testing
import ZeroMQ

@testable import NGDDaemon

@Suite(.serialized) struct DaemonOperationsTests {
    @Test func systemdNotifyReadyWatchdogWhileIdleAndStopping() throws {
        let listener = try UnixDatagramListener()
        let d = try DaemonProcess(
            ["--layers", "4,8,2"], environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "200000"])
        let ready = try #require(listener.receive(timeout: 10))
        #expect(ready.hasPrefix("READY=1\n") && ready.contains("MAINPID=\(d.process.processIdentifier)"))
        // READY comes after every socket is bound: the control socket answers at once.
        let c = try TestClient(d)
        #expect(try c.request(#"{"cmd":"status"}"#)["models"] != nil)
        // Idle: no input at all, yet WATCHDOG=1 keeps coming, every ~100 ms (half of WATCHDOG_USEC).
        var pets = 0
        let start = Date()
        while Date().timeIntervalSince(start) < 1.5, let m = listener.receive(timeout: 1) {
            if m == "WATCHDOG=1" { pets += 1 }
        }
        #expect(pets >= 5, "\(pets) watchdog datagrams in 1.5 s")
        let stop = d.terminate()
        #expect(stop.status == 0)
        var last: String?
        while let m = listener.receive(timeout: 0.5) { last = m }
        #expect(last?.hasPrefix("STOPPING=1") == true)
    }

    @Test func notifierIsSilentWithoutNotifySocket() {
        let n = SystemdNotifier(environment: [:])
        #expect(!n.isEnabled && n.watchdogInterval == nil && !n.notify("READY=1"))
        let w = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"])
        #expect(w.watchdogInterval == nil)  // the watchdog is for another process
    }

    /// `kill -9` during heavy learning with frequent checkpoints, 10 times at random moments:
    /// every restart must load a valid checkpoint, and seq never goes back.
    @Test func killNineDuringLearningNeverCorruptsACheckpoint() throws {
        let state = temporaryDirectory("crash")
        let path = state + "/default.ngdckpt"
        let args = ["--layers", "20,200,200,20", "--checkpoint-interval", "0.02", "--batch", "4"]
        var lastSeq = 0
        var restored = 0
        var killedMidSave = 0
        for round in 0..<10 {
            let d = try DaemonProcess(args, stateDir: state)
            if round > 0 {
                #expect(d.log.contains("restored model"), "round \(round): \(d.log)")
                restored += 1
            }
            let c = try TestClient(d)
            let s = try c.request(#"{"cmd":"status"}"#)["models"]?["default"]?["seq"]?.int ?? -1
            #expect(s >= lastSeq, "round \(round) (seed \(9000 + round)): seq went back from \(lastSeq) to \(s)")
            lastSeq = s
            var rng = SeededGenerator(seed: 9000 + UInt64(round))
            let x = (0..<(16 * 20)).map { _ in Double.random(in: -1...1, using: &rng) }
            let y = x.map { 0.5 * $0 }
            // Even rounds: kill at a random moment. Odd rounds: learn for a random time, then
            // kill the moment a checkpoint's temporary file appears, i.e. mid-write.
            let end = Date().addingTimeInterval(Double.random(in: 0.3...1.2, using: &rng))
            let message = NGD1.encode(dtype: .float64, count: 16, inputWidth: 20, outputWidth: 20, id: 0, x: x, y: y)
            var lastSend = Date.distantPast
            while true {
                if Date().timeIntervalSince(lastSend) >= 0.002 {
                    try c.send("default", message)
                    lastSend = Date()
                }
                let late = Date() >= end
                if late && (round % 2 == 0 || FileManager.default.fileExists(atPath: path + ".tmp")) { break }
                if late && Date().timeIntervalSince(end) > 5 { break }  // no save seen: give up this round
                usleep(50)
            }
            d.kill9()
            #expect(d.process.terminationReason == .uncaughtSignal)
            if FileManager.default.fileExists(atPath: path + ".tmp") { killedMidSave += 1 }
            // An independent check of the file the next start will read.
            if FileManager.default.fileExists(atPath: path) {
                let ck = try CheckpointFile.load(path: path)
                #expect(ck?.model == "default")
            }
        }
        #expect(restored == 9 && lastSeq > 0)
        #expect(killedMidSave >= 3, "only \(killedMidSave) of 10 kills landed during a write")
        print(
            "crash test: \(killedMidSave) of 10 kills landed while a checkpoint was being written; final seq \(lastSeq)"
        )
    }
}
