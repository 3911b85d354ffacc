import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// A loop that owns ZeroMQ sockets and runs on one dedicated thread until asked to stop:
/// ``ServeLoop`` (`ngd serve`) and ``ProxyLoop`` (`ngd proxy`).
public protocol ThreadedLoop: AnyObject {
    /// The name of the loop's thread (seen in `top -H` and debuggers).
    var threadName: String { get }
    /// Set on SIGHUP: re-read the CURVE key directories at the next turn.
    var reloadSignal: StopSignal { get }
    /// Serves until `stop` is requested, then shuts down; blocks the calling thread.
    func run(stop: StopSignal) throws
}

extension ThreadedLoop {
    /// Runs ``run(stop:)`` on a new dedicated thread (ZeroMQ calls block, so they stay off the
    /// cooperative pool) and calls `completion` on that thread when the loop has shut down.
    /// From this call on, the loop belongs to that thread.
    public func start(stop: StopSignal, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let loop = Transfer(value: self)
        let t = Thread { completion(Result { try loop.value.run(stop: stop) }) }
        t.name = threadName
        t.start()
    }
}

/// Moves a non-Sendable value to the one thread that will use it from then on.
private struct Transfer<T>: @unchecked Sendable { let value: T }

/// A ``ThreadedLoop`` as a swift-service-lifecycle `Service`.
///
/// ``run()`` starts the loop on its own thread and returns when the loop has shut down.
/// Graceful shutdown (SIGTERM or SIGINT through the `ServiceGroup`) and task cancellation both
/// ask the loop to stop; the serve loop then finishes the message in hand, checkpoints and
/// closes, the proxy stops both devices. SIGHUP asks the loop to re-read its CURVE keys.
public final class DaemonService: Service, @unchecked Sendable {
    // @unchecked: `loop` is handed to its thread once in run() and never touched here again;
    // `stop` is an atomic flag.
    private let loop: any ThreadedLoop
    private let stop = StopSignal()

    public init(loop: any ThreadedLoop) { self.loop = loop }

    public func run() async throws {
        let stop = self.stop
        let reload = loop.reloadSignal
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
