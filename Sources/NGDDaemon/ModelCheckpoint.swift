import Foundation
import NGDMath

/// The saved state of one model. Encoded by ``BinaryCoder`` (doubles bit-exact) inside a
/// ``CheckpointFile`` envelope that carries a format version and a CRC-32.
struct ModelCheckpoint: Codable, Equatable, Sendable {
    var model: String
    var architecture: Architecture
    var optimizerKind: OptimizerKind
    var seq: Int
    var samples: Int
    var lossEMA: Double?
    var mseEMA: Double?
    var paused: Bool
    /// Seconds since 1970.
    var savedAt: Double
    var optimizer: OptimizerState
    /// The last integer message id seen (`sequenced_ids`), so that a restarted replica reports
    /// the messages it missed while down. Absent in checkpoints written before it existed (and
    /// for models without `sequenced_ids`): those start a new sequence.
    var lastSequenceID: UInt64? = nil
}
