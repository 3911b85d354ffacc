import Foundation

/// Saves checkpoints on a background thread, so that an interval save does not stop learning.
///
/// The serve loop takes a snapshot of a model (a copy of its state, milliseconds even for large
/// models) and submits it; this writer encodes it and saves it atomically on its own serial
/// queue. At most one save per model is in flight: a model whose previous save is still
/// running is skipped until the next interval.
///
/// Thread safety: every method may be called from any thread.
final class CheckpointWriter: @unchecked Sendable {
    // @unchecked: `inFlight` and `finished` are guarded by `lock`; `queue` is serial.
    private let queue = DispatchQueue(label: "ngd-checkpoint-writer")
    private let lock = NSLock()
    private var inFlight: Set<String> = []
    private var finished: [Completion] = []
    private let directory: String

    struct Completion: Sendable {
        let model: String
        let seq: Int
        let result: Result<String, CheckpointError>
        let time: Date
    }

    init(directory: String) { self.directory = directory }

    /// Queues `snapshot` for saving; false when that model's previous save is still running.
    func submit(_ snapshot: ModelCheckpoint) -> Bool {
        let accepted = lock.withLock { inFlight.insert(snapshot.model).inserted }
        guard accepted else { return false }
        let directory = self.directory
        queue.async { [self] in
            let result: Result<String, CheckpointError>
            do { result = .success(try CheckpointFile.save(snapshot, directory: directory)) } catch let e
                as CheckpointError
            {
                result = .failure(e)
            } catch {
                result = .failure(.writeFailed(path: directory, step: "saving", reason: "\(error)"))
            }
            lock.withLock {
                inFlight.remove(snapshot.model)
                finished.append(Completion(model: snapshot.model, seq: snapshot.seq, result: result, time: Date()))
            }
        }
        return true
    }

    /// The saves finished since the last call.
    func takeCompletions() -> [Completion] {
        lock.withLock {
            defer { finished = [] }
            return finished
        }
    }

    /// Blocks until every submitted save has finished.
    func waitUntilIdle() { queue.sync {} }
}
