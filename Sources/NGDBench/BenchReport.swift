/// Formats benchmark results as an aligned text table or as JSON lines.
public enum BenchReport {
    /// A table: one row per run, one column per checkpoint, plus µs/sample; `floor`, when given,
    /// adds a row and a "×floor" column for the last checkpoint.
    public static func table(_ runs: [BenchRun], floor: Double? = nil) -> String {
        guard let first = runs.first else { return "" }
        let samples = first.points.map(\.samples)
        var header = ["optimizer", "µs/sample"] + samples.map(countLabel)
        if floor != nil { header.append("×floor@\(countLabel(samples.last ?? 0))") }
        var rows = [header]
        for r in runs {
            var row = [r.spec.label, String(format1(r.microsecondsPerSample))]
            row += r.points.map { scientific($0.testMSE) }
            if let f = floor, let last = r.points.last { row.append(ratio(last.testMSE / f)) }
            rows.append(row)
        }
        if let f = floor { rows.append(["floor (teacher)", ""] + samples.map { _ in scientific(f) } + ["1.00"]) }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == 0 ? cell + String(repeating: " ", count: widths[c] - cell.count) : leftPad(cell, widths[c])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// One line per NGD run: steps taken, rejected and clipped, and the final damping.
    public static func naturalGradientNotes(_ runs: [BenchRun]) -> String {
        runs.compactMap { r in
            r.naturalGradient.map { n in
                "  \(r.spec.label): \(n.counters.steps) steps, \(n.counters.rejected) rejected, "
                    + "\(n.counters.clipped) clipped to the model minimum; final λ = \(scientific(n.damping))"
            }
        }.joined(separator: "\n")
    }

    /// One JSON object per run and checkpoint. `extra` fields (already JSON-encoded values)
    /// come first, e.g. `["arch": "\"A\"", "seed": "0"]`.
    public static func jsonLines(_ runs: [BenchRun], extra: [(String, String)]) -> [String] {
        var out = [String]()
        for r in runs {
            for p in r.points {
                var fields = extra
                fields += [
                    ("optimizer", "\"\(r.spec.name)\""), ("lr", json(r.spec.learningRate)),
                    ("batch", "\(r.spec.blockSize)"), ("samples", "\(p.samples)"), ("test_mse", json(p.testMSE)),
                    ("us_per_sample", json(r.microsecondsPerSample)),
                ]
                if let d = r.divergedAt { fields.append(("diverged_at", "\(d)")) }
                out.append("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
            }
        }
        return out
    }

    /// A JSON number, or `null` when not finite (a diverged run).
    public static func json(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    static func countLabel(_ n: Int) -> String { n % 1000 == 0 ? "\(n / 1000)k" : "\(n)" }

    static func scientific(_ x: Double) -> String {
        guard x.isFinite else { return "diverged" }
        guard x != 0 else { return "0" }
        var e = Int((log10(abs(x))).rounded(.down))
        var mr = (x / pow(10, Double(e)) * 100).rounded() / 100
        if abs(mr) >= 10 {
            mr /= 10
            e += 1
        }
        return "\(fixed(mr, 2))e\(e < 0 ? "-" : "+")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }

    static func ratio(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        return x < 100 ? fixed(x, 2) : fixed(x, 0)
    }

    static func format1(_ x: Double) -> String { x >= 100 ? fixed(x, 0) : fixed(x, 1) }

    /// `x` with exactly `digits` decimals (no Foundation needed).
    static func fixed(_ x: Double, _ digits: Int) -> String {
        let scale = pow(10, Double(digits))
        let r = (abs(x) * scale).rounded()
        let whole = Int(r / scale)
        let frac = Int(r - Double(whole) * scale)
        let sign = x < 0 && r != 0 ? "-" : ""
        guard digits > 0 else { return "\(sign)\(whole)" }
        let f = String(frac)
        return "\(sign)\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
