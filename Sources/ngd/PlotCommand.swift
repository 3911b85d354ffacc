import ArgumentParser
import Foundation
import NGDWire

/// `ngd plot`: a recorded loss stream (`ngd tail --record`) as an SVG learning curve.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a recorded loss stream (ngd tail --record FILE.jsonl) as an SVG learning curve.",
        discussion: """
            One line per model: the chosen loss on a log scale against the model's seq (samples \
            learned). Lines that are not loss messages, and losses that are zero, negative or \
            not finite (a log scale cannot show them), are skipped and counted. Example:
              ngd tail --record loss.jsonl --duration 60 && ngd plot loss.jsonl -o loss.svg
            """)

    enum Metric: String, CaseIterable, ExpressibleByArgument {
        case lossEMA = "loss_ema"
        case loss, mse
    }

    @Argument(help: ArgumentHelp("A JSON-lines file of loss messages.", valueName: "file")) var file: String
    @Option(name: [.short, .long], help: ArgumentHelp("The SVG to write (default: FILE with .svg).", valueName: "svg"))
    var output: String?
    @Option(help: "What to plot: loss_ema (the running average), loss or mse.") var metric: Metric = .lossEMA
    @Option(help: ArgumentHelp("The title (default: the file's name).", valueName: "text")) var title: String?

    func run() throws {
        let (series, skipped) = try Self.read(path: file, metric: metric)
        let plot = LearningCurveSVG(
            title: title ?? (file as NSString).lastPathComponent, yLabel: "\(metric.rawValue) (log scale)",
            series: series)
        let svg = try plot.render()
        let path = output ?? ((file as NSString).deletingPathExtension + ".svg")
        do { try svg.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
        let counts = series.map { "\($0.name) \($0.points.count)" }.joined(separator: ", ")
        writeStandardError(
            "ngd plot: wrote \(path) (points: \(counts)\(skipped > 0 ? "; skipped \(skipped) lines" : ""))\n")
    }

    /// The series of `metric` by model, in file order, and the number of lines skipped.
    static func read(path: String, metric: Metric) throws -> ([LearningCurveSVG.Series], Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CommandFailure("cannot read \(path)") }
        defer { try? handle.close() }
        var order: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        var skipped = 0
        var carry: [UInt8] = []
        func take(_ line: ArraySlice<UInt8>) {
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) else { return }
            guard let v = try? JSONValue.parse(Array(line)), case .string(let model)? = v["model"],
                let seq = v["seq"]?.double, let y = v[metric.rawValue]?.double, y > 0, y.isFinite
            else {
                skipped += 1
                return
            }
            if points[model] == nil { order.append(model) }
            points[model, default: []].append((seq, y))
        }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            carry += chunk
            var start = carry.startIndex
            while let nl = carry[start...].firstIndex(of: 0x0A) {
                take(carry[start..<nl])
                start = nl + 1
            }
            carry.removeSubrange(..<start)
        }
        take(carry[...])
        return (order.map { LearningCurveSVG.Series(name: $0, points: points[$0]!) }, skipped)
    }
}
