import Foundation

/// A learning curve as a self-contained SVG: loss on a log scale against samples, one line per
/// model, with labelled axes, decade ticks and a legend.
///
/// The data-to-pixel mapping is written on the plot's `<g class="plot">` element
/// (`data-x-min`, `data-x-max`, `data-log10-y-min`, `data-log10-y-max`, and the plot area), so a
/// reader can map every polyline point back to (samples, loss).
struct LearningCurveSVG {
    struct Series {
        var name: String
        /// (samples, loss) in the order recorded; points with a loss ≤ 0 or not finite are left out.
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel = "samples"
    var yLabel = "loss (log scale)"
    var series: [Series]
    /// Horizontal dashed lines (a target, a noise floor): label and value.
    var references: [(label: String, y: Double)] = []
    /// Points kept per series at most; a longer series keeps every kth point and its last.
    var maximumPoints = 4000

    static let width = 760.0
    static let height = 440.0
    static let plot = (left: 78.0, top: 44.0, right: 740.0, bottom: 384.0)
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// The points of `s` that are drawn: positive, finite, thinned to ``maximumPoints``.
    func drawn(_ s: Series) -> [(x: Double, y: Double)] {
        let good = s.points.filter { $0.x.isFinite && $0.y.isFinite && $0.y > 0 }
        guard good.count > maximumPoints else { return good }
        let step = (good.count + maximumPoints - 1) / maximumPoints
        var kept = stride(from: 0, to: good.count, by: step).map { good[$0] }
        if let last = good.last, kept.last.map({ $0 != last }) ?? true { kept.append(last) }
        return kept
    }

    /// The SVG document. Throws when no series has a point to draw.
    func render() throws -> String {
        let lines = series.map { ($0.name, drawn($0)) }
        let all = lines.flatMap(\.1)
        guard !all.isEmpty else { throw CommandFailure("nothing to plot: no positive, finite loss in any series") }
        let xs = all.map(\.x)
        let logs = all.map { log10($0.y) } + references.filter { $0.y > 0 && $0.y.isFinite }.map { log10($0.y) }
        // The x axis starts at 0 unless the data start far from it.
        let xMin = xs.min()! >= 0 && xs.min()! < 0.2 * xs.max()! ? 0 : xs.min()!
        let xMax = max(xs.max()!, xMin + 1)
        // Whole decades, with a margin so that no line runs along the frame.
        let yLo = floor(logs.min()! - 0.1)
        let yHi = max(ceil(logs.max()! + 0.1), yLo + 1)
        let p = Self.plot
        func px(_ x: Double) -> Double { p.left + (x - xMin) / (xMax - xMin) * (p.right - p.left) }
        func py(_ y: Double) -> Double { p.bottom - (log10(y) - yLo) / (yHi - yLo) * (p.bottom - p.top) }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(Self.width / 2))" y="24" text-anchor="middle" font-size="15">\(Self.escape(title))</text>

            """
        svg += """
            <g class="plot" data-x-min="\(xMin)" data-x-max="\(xMax)" data-log10-y-min="\(yLo)" data-log10-y-max="\(yHi)" \
            data-left="\(p.left)" data-top="\(p.top)" data-right="\(p.right)" data-bottom="\(p.bottom)">

            """
        // Decade grid lines and labels on y.
        for d in stride(from: yLo, through: yHi, by: 1) {
            let y = p.bottom - (d - yLo) / (yHi - yLo) * (p.bottom - p.top)
            svg += "<line x1=\"\(f(p.left))\" y1=\"\(f(y))\" x2=\"\(f(p.right))\" y2=\"\(f(y))\" stroke=\"#e0e0e0\"/>\n"
            svg +=
                "<text x=\"\(f(p.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">1e\(Int(d))</text>\n"
        }
        // About six round ticks on x.
        let step = Self.niceStep((xMax - xMin) / 6)
        var t = (xMin / step).rounded(.up) * step
        while t <= xMax + step * 1e-9 {
            let x = px(t)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(p.top))\" x2=\"\(f(x))\" y2=\"\(f(p.bottom))\" stroke=\"#f0f0f0\"/>\n"
            svg += "<text x=\"\(f(x))\" y=\"\(f(p.bottom + 18))\" text-anchor=\"middle\">\(Self.number(t))</text>\n"
            t += step
        }
        svg += """
            <rect x="\(f(p.left))" y="\(f(p.top))" width="\(f(p.right - p.left))" height="\(f(p.bottom - p.top))" fill="none" stroke="#333"/>
            <text x="\(f((p.left + p.right) / 2))" y="\(f(Self.height - 16))" text-anchor="middle">\(Self.escape(xLabel))</text>
            <text transform="translate(18 \(f((p.top + p.bottom) / 2))) rotate(-90)" text-anchor="middle">\(Self.escape(yLabel))</text>

            """
        for r in references where r.y > 0 && r.y.isFinite {
            let y = py(r.y)
            svg += """
                <line class="reference" x1="\(f(p.left))" y1="\(f(y))" x2="\(f(p.right))" y2="\(f(y))" stroke="#555" stroke-dasharray="6 4"/>
                <text x="\(f(p.left + 6))" y="\(f(y - 4))" fill="#555">\(Self.escape(r.label))</text>

                """
        }
        for (i, (name, points)) in lines.enumerated() where !points.isEmpty {
            let color = Self.colors[i % Self.colors.count]
            let coordinates = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg +=
                "<polyline class=\"series\" data-name=\"\(Self.escape(name))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(coordinates)\"/>\n"
        }
        svg += "</g>\n"
        // The legend, top right inside the plot.
        let shown = lines.filter { !$0.1.isEmpty }.map(\.0)
        let boxWidth = 40 + 7.5 * Double(shown.map(\.count).max() ?? 4)
        let boxLeft = p.right - boxWidth - 8
        svg +=
            "<g class=\"legend\"><rect x=\"\(f(boxLeft))\" y=\"\(f(p.top + 8))\" width=\"\(f(boxWidth))\" height=\"\(f(8 + 18 * Double(shown.count)))\" fill=\"white\" stroke=\"#999\"/>\n"
        for (i, (name, points)) in lines.enumerated() where !points.isEmpty {
            let y = p.top + 22 + 18 * Double(shown.firstIndex(of: name) ?? i)
            svg +=
                "<line x1=\"\(f(boxLeft + 8))\" y1=\"\(f(y - 4))\" x2=\"\(f(boxLeft + 28))\" y2=\"\(f(y - 4))\" stroke=\"\(Self.colors[i % Self.colors.count])\" stroke-width=\"2.5\"/>"
            svg += "<text x=\"\(f(boxLeft + 34))\" y=\"\(f(y))\">\(Self.escape(name))</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }

    /// A tick label: 20000 → "20k", 1500000 → "1.5M".
    static func number(_ v: Double) -> String {
        func trim(_ s: String) -> String { s.hasSuffix(".0") ? String(s.dropLast(2)) : s }
        if abs(v) >= 1e6 { return trim(String(format: "%.1f", v / 1e6)) + "M" }
        if abs(v) >= 1e3 { return trim(String(format: "%.1f", v / 1e3)) + "k" }
        return trim(String(format: "%.1f", v))
    }

    /// `text` with XML's five special characters escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 has no place for control characters, escaped or not.
            case _ where c.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0xFFFE || $0.value == 0xFFFF }:
                out += "?"
            default: out.append(c)
            }
        }
        return out
    }
}
