import ArgumentParser
import Foundation
import NGDClient
import NGDDaemon
import ZeroMQ

/// `ngd snapshot`: copies a model's state from a running daemon into the state directory of a
/// replica that is about to start, over the control socket (no shared file system needed).
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Copy a model's checkpoint from a running daemon into a state directory, over its control socket.",
        discussion: """
            The daemon encodes the model as it stands (between two messages) and sends the file; \
            nothing is written on its side. The file is checked (envelope, CRC-32, model name) and \
            written atomically as DIR/MODEL.ngdckpt. Start the replica on DIR with the same \
            configuration, then compare the two digests in `status`.

            To add or bring back a hot-standby replica without a gap: PAUSE the proxy, take the \
            snapshot, start the replica, check the digests, RESUME.
            """)

    @Option(help: ArgumentHelp("The running daemon's control endpoint.", valueName: "endpoint")) var control: String
    @Option(help: ArgumentHelp("The model to copy.", valueName: "name")) var model: String
    @Option(help: ArgumentHelp("The replica's state directory (created when missing).", valueName: "dir"))
    var to: String
    @Flag(help: "Replace a checkpoint already in DIR (only while its daemon is stopped).") var replace = false
    @Option(help: ArgumentHelp("Seconds to wait for the reply.", valueName: "s")) var timeout = 30.0
    @OptionGroup(title: "CURVE (for a daemon with [daemon.curve]; this key in its admins directory)")
    var curve: CurveClientOptions

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
        guard !model.isEmpty else { throw ValidationError("--model must not be empty") }
    }

    func run() throws {
        let ctx = try ZMQContext()
        defer { ctx.terminate() }
        let client = try ControlClient(
            context: ctx, endpoint: control, timeout: .milliseconds(Int(timeout * 1000)), curve: try curve.keys())
        defer { client.close() }
        let (seq, digest, file) = try client.snapshot(model: model)
        let path = try CheckpointInstaller.install(
            file, model: model, directory: to, source: "the snapshot of \(model) from \(control)", replace: replace)
        print("wrote \(path): model \(model), seq \(seq), digest \(digest ?? "-"), \(file.count) bytes")
    }
}
