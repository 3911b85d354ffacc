import Foundation
import NGDSystem

/// Saves checkpoints on a background thread, so that an interval save does not stop learning.
///
/// The serve loop takes a snapshot of a model (a copy of its state, milliseconds even for large
/// models) and submits it; this writer encodes it and saves it atomically on its own serial
/// queue. At most one save per model is in flight: a model whose previous save is still
/// running is skipped until the next interval.
///
/// Thread safety: every method may be called from any thread.
final class CheckpointWriter: Sendable {
    private let queue = DispatchQueue(label: "ngd-checkpoint-writer")
    /// Models with a save in flight, and the saves finished since the last ``takeCompletions()``.
    private let progress = Locked((inFlight: Set<String>(), finished: [Completion]()))
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
        let accepted = progress.withLock { $0.inFlight.insert(snapshot.model).inserted }
        guard accepted else { return false }
        let directory = self.directory
        queue.async { [self] in
            let result: Result<String, CheckpointError>
            do { result = .success(try CheckpointFile.save(snapshot, directory: directory)) } catch let e
                as CheckpointError
            { result = .failure(e) } catch {
                result = .failure(.writeFailed(path: directory, step: "saving", reason: "\(error)"))
            }
            progress.withLock {
                $0.inFlight.remove(snapshot.model)
                $0.finished.append(Completion(model: snapshot.model, seq: snapshot.seq, result: result, time: Date()))
            }
        }
        return true
    }

    /// The saves finished since the last call.
    func takeCompletions() -> [Completion] {
        progress.withLock { state in
            defer { state.finished = [] }
            return state.finished
        }
    }

    /// Blocks until every submitted save has finished.
    func waitUntilIdle() { queue.sync {} }
}
