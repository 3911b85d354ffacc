import ArgumentParser
import NGDDaemon
import NGDMath

/// The `ngd` command line.

struct NGDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngd", abstract: "A daemon that learns online from a ZeroMQ stream with the natural gradient.",
        discussion: """
            ngd trains a feed-forward network on each sample as it arrives, with the natural \
            gradient of Bernacchia, Lengyel & Hennequin (NeurIPS 2018) and Sherman–Morrison \
            inverse Fisher factors, and publishes predictions and loss. Start with `ngd demo`; \
            run the daemon with `ngd serve` (docs/protocol.md has the wire protocol).
            """,
        version: BuildInfo.version,
        subcommands: [
            DemoCommand.self, ServeCommand.self, FeedCommand.self, TailCommand.self, PlotCommand.self,
            ProxyCommand.self, SnapshotCommand.self, KeygenCommand.self, BenchCommand.self,
        ])
}
