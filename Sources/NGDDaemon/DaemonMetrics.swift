import Foundation
import NGDMath
import Prometheus

/// What this build of ngd is (`ngd --version`, `ngd_build_info`).
public enum BuildInfo {
    public static let version = "0.17.0"
}

/// A metric's full name and help text, as swift-prometheus takes them.
func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}

/// `ngd_build_info` and `process_start_time_seconds`, which both the daemon and the proxy export.
func registerProcessInfo(_ registry: PrometheusCollectorRegistry, started: Date) {
    registry.makeGauge(
        descriptor: metric("ngd_build_info", "The ngd version; always 1."), labels: [("version", BuildInfo.version)]
    ).set(1.0)
    registry.makeGauge(
        descriptor: metric("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.")
    ).set(started.timeIntervalSince1970)
}

/// The daemon's Prometheus metrics (text exposition 0.0.4, through swift-prometheus).
///
/// Counters that only the serve loop sees (messages by outcome, rejections by class) are
/// incremented as they happen; everything the models and the loop already count (samples,
/// steps, refreshes, checkpoint age, …) is read into gauges and counters when a scrape comes,
/// so learning pays nothing for metrics it does not need. Names follow Prometheus's
/// conventions: an `ngd_` prefix, base units (seconds), `_total` for counters, a `model` label.
///
/// Thread safety: none; the serve loop's thread owns it.
final class DaemonMetrics {
    /// Why a message was refused: the `reason` label of `ngd_messages_rejected_total`.
    enum RejectionClass: String, CaseIterable {
        /// Not the two frames `[topic, payload]`.
        case frames
        /// A topic that names no model (`model=""`).
        case topic
        /// A payload larger than `max_message_size` that reached the loop (a connected input:
        /// libzmq's own limit, which drops the peer, is kept for bound inputs).
        case size
        /// A payload that is neither valid JSON nor NGD1.
        case decode
        /// Decoded, but not fit for the model (widths, labels, targets).
        case input
    }

    /// What became of an accepted message: the `outcome` label of `ngd_messages_total`.
    enum Outcome: String, CaseIterable {
        /// Labelled and learned.
        case learned
        /// Predict-only.
        case predicted
        /// Labelled, scored, not learned (the model is paused).
        case paused
    }

    let registry = PrometheusCollectorRegistry()
    private let turn: DurationHistogram
    private var outcomes: [String: [Outcome: Counter]] = [:]
    private var rejections: [String: [RejectionClass: Counter]] = [:]

    init(models: [String], started: Date) {
        turn = registry.makeDurationHistogram(
            descriptor: metric(
                "ngd_serve_loop_turn_seconds",
                "Time of one turn of the serve loop that did work (control, input, timers), without its wait."),
            buckets: [
                .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .seconds(1),
            ])
        registerProcessInfo(registry, started: started)
        for m in models + [""] {
            for o in Outcome.allCases where !m.isEmpty {
                outcomes[m, default: [:]][o] = registry.makeCounter(
                    descriptor: metric(
                        "ngd_messages_total",
                        "Input messages accepted, by outcome: learned, predicted (no y) or paused."),
                    labels: [("model", m), ("outcome", o.rawValue)])
            }
            // An unknown topic has no model; every other refusal may name one or not.
            for r in RejectionClass.allCases where m.isEmpty ? (r == .topic || r == .frames) : r != .topic {
                rejections[m, default: [:]][r] = registry.makeCounter(
                    descriptor: metric(
                        "ngd_messages_rejected_total",
                        "Input messages refused, by reason: frames, topic, size, decode or input; model is empty when no "
                            + "model could be told."),
                    labels: [("model", m), ("reason", r.rawValue)])
            }
        }
    }

    /// Counts an accepted message of `model`.
    func count(_ outcome: Outcome, model: String) { outcomes[model]?[outcome]?.increment() }

    /// Counts a refused message (`model` nil: no model could be told).
    func reject(_ reason: RejectionClass, model: String?) { rejections[model ?? ""]?[reason]?.increment() }

    /// Records the duration of one working turn of the serve loop.
    func recordTurn(_ duration: Duration) { turn.record(duration) }

    /// The exposition text, after reading the models' and the loop's own counters.
    func render(models: [HostedModel], authFailures: Int, now: Date = Date()) -> [UInt8] {
        func gauge(_ name: String, _ model: String, _ help: String, _ value: Double) {
            registry.makeGauge(descriptor: metric(name, help), labels: [("model", model)]).set(value)
        }
        func counter(_ name: String, _ model: String, _ help: String, _ value: Int) {
            let c = registry.makeCounter(descriptor: metric(name, help), labels: [("model", model)])
            c.reset()
            c.increment(by: Int64(value))
        }
        for m in models {
            let n = m.name
            counter("ngd_samples_learned_total", n, "Samples learned (the model's seq; kept across restarts).", m.seq)
            counter("ngd_samples_total", n, "Samples seen: learned, predicted, paused and probes.", m.samples)
            counter(
                "ngd_steps_rejected_total", n,
                "Steps not applied: NGD's that raised their block's loss, and any that would make the model non-finite.",
                m.rejectedSteps)
            gauge(
                "ngd_loss_ema", n, "Running average of the per-sample loss (rate 0.01 per sample).", m.lossEMA ?? .nan)
            gauge("ngd_mse_ema", n, "Running average of the per-sample mean squared error.", m.mseEMA ?? .nan)
            gauge(
                "ngd_checkpoint_age_seconds", n, "Seconds since the model's last checkpoint; NaN before the first.",
                m.lastCheckpoint.map { now.timeIntervalSince($0) } ?? .nan)
            counter(
                "ngd_checkpoint_failures_total", n, "Checkpoints of the model that could not be written.",
                m.checkpointFailures)
            if let ngd = m.naturalGradient {
                gauge("ngd_damping", n, "NGD's damping λ.", ngd.damping)
                counter(
                    "ngd_factor_refreshes_total", n, "Inverse Fisher factors recomputed from their covariance (O(n³)).",
                    ngd.factorRefreshes)
                counter(
                    "ngd_factor_resets_total", n, "Fisher factors reset to a scaled identity (not positive definite).",
                    ngd.factorResets)
                gauge(
                    "ngd_min_pivot_ratio", n,
                    "Smallest Sherman–Morrison pivot ratio S/a of any factor since the previous scrape (≥ 1 when "
                        + "healthy; NaN when no update ran).",
                    ngd.takeMinPivotRatio() ?? .nan)
            }
        }
        let auth = registry.makeCounter(
            descriptor: metric("ngd_auth_failures_total", "CURVE handshakes refused since start."))
        auth.reset()
        auth.increment(by: Int64(authFailures))
        return registry.emitToBuffer()
    }
}
