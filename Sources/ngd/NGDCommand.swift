import ArgumentParser
import NGDMath

/// The `ngd` command line.

struct NGDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngd",
        abstract: "Online natural-gradient learning of deep networks.",
        discussion: """
            ngd trains a feed-forward network on each sample as it arrives, with the natural \
            gradient of Bernacchia, Lengyel & Hennequin (NeurIPS 2018) and Sherman–Morrison \
            inverse Fisher factors.
            """,
        subcommands: [DemoCommand.self, ServeCommand.self, FeedCommand.self, TailCommand.self, BenchCommand.self]
    )
}
