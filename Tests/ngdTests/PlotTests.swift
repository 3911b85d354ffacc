import Foundation
import NGDTestSupport
import Testing

@testable import ngd

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The SVG learning curves: well-formed XML, and every drawn point maps back to the data it
/// came from through the mapping the plot declares.
@Suite struct PlotTests {
    /// Parses `svg` with Foundation's XML parser; returns the plot group's attributes and each
    /// series' name and points, or records the parse error.
    final class Reader: NSObject, XMLParserDelegate {
        var plot: [String: String] = [:]
        var series: [(String, [(Double, Double)])] = []
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if name == "g", attributes["class"] == "plot" { plot = attributes }
            if name == "polyline", attributes["class"] == "series" {
                let points = (attributes["points"] ?? "").split(separator: " ").map { pair -> (Double, Double) in
                    let xy = pair.split(separator: ",").map { Double($0) ?? .nan }
                    return (xy[0], xy[1])
                }
                series.append((attributes["data-name"] ?? "", points))
            }
        }
    }

    func read(_ svg: String) throws -> Reader {
        let reader = Reader()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = reader
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        return reader
    }

    /// Pixel → data, from the attributes the plot declares.
    func data(_ r: Reader, _ p: (Double, Double)) -> (Double, Double) {
        func a(_ k: String) -> Double { Double(r.plot[k] ?? "") ?? .nan }
        let x =
            a("data-x-min") + (p.0 - a("data-left")) / (a("data-right") - a("data-left"))
            * (a("data-x-max") - a("data-x-min"))
        let l =
            a("data-log10-y-min") + (a("data-bottom") - p.1) / (a("data-bottom") - a("data-top"))
            * (a("data-log10-y-max") - a("data-log10-y-min"))
        return (x, pow(10, l))
    }

    @Test func pointsMapBackToTheData() throws {
        let a: [(x: Double, y: Double)] = (1...500).map { i -> (x: Double, y: Double) in
            let t = Double(i)
            return (t * 10, 2 * exp(-t / 60) + 1e-4)
        }
        let b: [(x: Double, y: Double)] = (1...300).map { i -> (x: Double, y: Double) in
            (Double(i) * 16, 0.5 / Double(i))
        }
        let plot = LearningCurveSVG(
            title: "a <test> & \"quotes\"",
            series: [.init(name: "ngd", points: a), .init(name: "sgd & co", points: b)],
            references: [("target", 1e-3)])
        let r = try read(try plot.render())
        #expect(r.series.map { $0.0 } == ["ngd", "sgd & co"])
        for ((_, drawn), source) in zip(r.series, [a, b]) {
            #expect(drawn.count == source.count)
            for (p, s) in zip(drawn, source) {
                let (x, y) = data(r, p)
                // Coordinates have two decimals: 0.005 px of a 662-px-wide axis.
                #expect(abs(x - s.x) <= 0.01 * (Double(r.plot["data-x-max"]!)! / 600), "\(x) vs \(s.x)")
                #expect(abs(log10(y) - log10(s.y)) < 1e-3, "\(y) vs \(s.y)")
            }
        }
    }

    @Test func longSeriesAreThinnedAndBadValuesLeftOut() throws {
        var points = (0..<10_001).map { (x: Double($0), y: 1 / Double($0 + 1)) }
        points[5] = (5, .nan)
        points[6] = (6, 0)
        points[7] = (7, -1)
        points[8] = (8, .infinity)
        var plot = LearningCurveSVG(title: "t", series: [.init(name: "m\u{1}", points: points)])
        plot.maximumPoints = 1000
        let r = try read(try plot.render())
        let drawn = r.series[0].1
        #expect(drawn.count <= 1001 && drawn.count >= 900)
        let last = data(r, drawn.last!)
        #expect(abs(last.0 - 10_000) < 0.5)
        #expect(r.series[0].0 == "m?")
        #expect(throws: (any Error).self) {
            try LearningCurveSVG(title: "t", series: [.init(name: "m", points: [(1, .nan), (2, 0)])]).render()
        }
    }

    @Test func tailRecordsAndPlotDrawsEveryLossMessage() throws {
        let d = try DaemonProcess(["--layers", "20,20", "--input-pattern", "pull"])
        let dir = temporaryDirectory("plot")
        let record = dir + "/loss.jsonl"
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: ngdExecutable())
        tail.arguments = ["tail", "--from", d.output, "--record", record, "--duration", "6"]
        tail.standardOutput = FileHandle.nullDevice
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        Thread.sleep(forTimeInterval: 1)
        let fed = try runProcess(
            ngdExecutable(),
            ["feed", "--to", d.input, "--pattern", "push", "--teacher", "A", "--count", "400", "--rate", "0"])
        #expect(fed.status == 0, "\(fed.output)")
        tail.waitUntilExit()
        // A line that is not a loss message is skipped and counted.
        let handle = try #require(FileHandle(forWritingAtPath: record))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data("not json\n".utf8))
        try handle.close()
        let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 401)
        let (status, output) = try runProcess(ngdExecutable(), ["plot", record, "--metric", "mse"])
        #expect(status == 0 && output.contains("points: default 400") && output.contains("skipped 1"), "\(output)")
        let r = try read(try String(contentsOfFile: dir + "/loss.svg", encoding: .utf8))
        #expect(r.series.count == 1 && r.series[0].1.count == 400)
        // Point i is loss message i: its seq (i + 1) and its mse.
        for (i, line) in lines.prefix(400).enumerated() {
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let mse = try #require(json?["mse"] as? Double)
            let (x, y) = data(r, r.series[0].1[i])
            #expect(abs(x - Double(i + 1)) < 0.05 && abs(log10(y) - log10(mse)) < 1e-3)
        }
        #expect(d.terminate().status == 0)
    }
}
