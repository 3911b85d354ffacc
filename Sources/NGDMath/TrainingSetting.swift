/// Every training setting of the optimizers, by name. An invalid-setting error carries one, and
/// each case is spelled here, once, for configuration files and for the command line.
public enum TrainingSetting: String, CaseIterable, SettingName {
    case learningRate = "learning_rate"
    case learningRateDecay = "learning_rate_decay"
    case blockSize = "batch"
    case outputVariance = "output_noise"
    case factorRate = "factor_rate"
    case factorInterval = "factor_interval"
    case warmup = "warmup"
    case initialDamping = "damping"
    case minimumDamping = "min_damping"
    case maximumDamping = "max_damping"
    case modelSamples = "model_samples"
    case dampingWindow = "damping_window"
    case dampingIncrease = "damping_increase"
    case dampingDecrease = "damping_decrease"
    case lowRatio = "damping_low_ratio"
    case highRatio = "damping_high_ratio"
    case clipToModelMinimum = "clip_steps"
    case rejectWorseSteps = "reject_worse_steps"
    case healthInterval = "health_interval"
    case driftTolerance = "drift_tolerance"
    case refreshInterval = "refresh_interval"
    case beta1 = "adam_beta1"
    case beta2 = "adam_beta2"
    case epsilon = "adam_epsilon"

    public var configKey: String { rawValue }

    public var flag: String {
        switch self {
        case .learningRate: "--learning-rate"
        case .learningRateDecay: "--learning-rate-decay"
        case .blockSize: "--batch"
        case .outputVariance: "--output-noise"
        case .factorRate: "--factor-rate"
        case .factorInterval: "--factor-interval"
        case .warmup: "--warmup"
        case .initialDamping: "--damping"
        case .minimumDamping: "--min-damping"
        case .maximumDamping: "--max-damping"
        case .modelSamples: "--model-samples"
        case .dampingWindow: "--damping-window"
        case .dampingIncrease: "--damping-increase"
        case .dampingDecrease: "--damping-decrease"
        case .lowRatio: "--damping-low-ratio"
        case .highRatio: "--damping-high-ratio"
        case .clipToModelMinimum: "--clip-steps"
        case .rejectWorseSteps: "--reject-worse-steps"
        case .healthInterval: "--health-interval"
        case .driftTolerance: "--drift-tolerance"
        case .refreshInterval: "--refresh-interval"
        case .beta1: "--adam-beta1"
        case .beta2: "--adam-beta2"
        case .epsilon: "--adam-epsilon"
        }
    }
}
