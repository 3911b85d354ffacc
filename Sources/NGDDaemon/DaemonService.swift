import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The serve loop as a swift-service-lifecycle `Service`.
///
/// ``run()`` starts the loop on its own thread (ZeroMQ calls block, so they stay off the
/// cooperative pool) and returns when the loop has shut down. Graceful shutdown (SIGTERM or
/// SIGINT through the `ServiceGroup`) and task cancellation both ask the loop to stop; it then
/// finishes the message in hand, checkpoints and closes.
public final class DaemonService: Service, @unchecked Sendable {
    // @unchecked: `loop` is handed to its thread once in run() and never touched here again;
    // `stop` is an atomic flag.
    private let loop: ServeLoop
    private let stop = StopSignal()

    public init(loop: ServeLoop) { self.loop = loop }

    public func run() async throws {
        let stop = self.stop
        let reload = loop.reloadSignal
        // SIGHUP asks the loop to re-read its CURVE key directories at its next turn.
        let hangups = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { reload.request() }
        }
        defer { hangups.cancel() }
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                loop.start(stop: stop) { c.resume(with: $0) }
            }
        } onCancelOrGracefulShutdown: {
            stop.request()
        }
    }
}
