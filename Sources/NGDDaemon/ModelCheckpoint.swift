import Foundation
import NGDMath

/// The saved state of one model. Encoded as JSON (doubles round-trip exactly) inside a
/// ``CheckpointFile`` envelope that carries a format version and a CRC-32.
struct ModelCheckpoint: Codable, Equatable {
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
}
