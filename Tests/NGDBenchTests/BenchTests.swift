import CZlib
import Foundation
import Testing

@testable import NGDBench
@testable import NGDMath

@Suite struct TeacherProblemTests {
    @Test func architecturesAreThePapers() {
        #expect(TeacherProblem.Arch.A.sizes == Array(repeating: 20, count: 17))
        #expect(TeacherProblem.Arch.B.sizes == [20, 30, 40, 50, 60, 70, 80, 90, 100, 90, 80, 70, 60, 50, 40, 30, 20])
        #expect(TeacherProblem.Arch.C.sizes == [200, 80, 34, 20, 10, 5, 2, 5, 10, 20, 34, 80, 200])
        #expect(TeacherProblem.Arch.allCases.map(\.architecture.layerCount) == [16, 16, 12])
        #expect(TeacherProblem.Arch.allCases.allSatisfy { !$0.architecture.bias })
    }

    @Test func dataHasTheStatedStatistics() {
        let p = TeacherProblem(arch: .A, seed: 3)
        #expect(p.train.count == 10_000 && p.test.count == 1_000)
        // The floor is the mean of 20,000 squared N(0, 1e-6) draws: relative s.d. 1 %.
        #expect(abs(p.floor / 1e-6 - 1) < 0.05)
        // E‖x‖² = tr Σ = Σ_i e^{−5i/n₀}; the mean over 10⁴ samples is within a few per cent.
        let n = 20
        let trace = (0..<n).reduce(0.0) { $0 + exp(-5 * Double($1) / Double(n)) }
        let mean = p.train.inputs.reduce(0) { $0 + $1 * $1 } / Double(p.train.count)
        #expect(abs(mean / trace - 1) < 0.03)
    }

    @Test func sameSeedSameProblem() {
        let a = TeacherProblem(arch: .C, seed: 1, trainCount: 50, testCount: 10)
        let b = TeacherProblem(arch: .C, seed: 1, trainCount: 50, testCount: 10)
        let c = TeacherProblem(arch: .C, seed: 2, trainCount: 50, testCount: 10)
        #expect(a.train.inputs == b.train.inputs && a.test.targets == b.test.targets)
        #expect(a.train.inputs != c.train.inputs)
    }

    /// The claim in miniature: NGD with the default settings reaches ≤ 2× the floor by
    /// 5,000 samples on each architecture, and on C seed 1, the slowest start of seeds 0–2
    /// (`ngd bench paper` checks all nine to 20k).
    @Test(arguments: [(TeacherProblem.Arch.A, 0), (.B, 0), (.C, 0), (.C, 1)] as [(TeacherProblem.Arch, UInt64)])
    func ngdReachesTwiceTheFloorBy5k(arch: TeacherProblem.Arch, seed: UInt64) throws {
        var bench = PaperBench(arch: arch, seeds: [seed], samples: 5_000)
        bench.optimizers = ["ngd"]
        let result = try #require(try bench.run().first)
        let mse = try #require(result.runs.first?.testMSE(at: 5_000))
        #expect(mse <= 2 * result.problem.floor, "\(arch): \(mse) vs floor \(result.problem.floor)")
    }
}

@Suite struct RunnerTests {
    static let tiny = Dataset(
        inputs: (0..<20).map(Double.init), targets: (0..<10).map(Double.init), count: 10, inputSize: 2, outputSize: 1)

    @Test func streamVisitsEverySampleOncePerPass() {
        var s = SampleStream(Self.tiny, seed: 4)
        var x = [Double](repeating: 0, count: 2 * 10)
        var y = [Double](repeating: 0, count: 10)
        var orders = [[Double]]()
        for _ in 0..<3 {
            s.next(10, inputs: &x, targets: &y)
            #expect(Set(y) == Set((0..<10).map(Double.init)))
            #expect(zip(stride(from: 0, to: 20, by: 2), y).allSatisfy { x[$0.0] == 2 * $0.1 })
            orders.append(y)
        }
        #expect(orders[0] != orders[1])  // reshuffled each pass
        var t = SampleStream(Self.tiny, seed: 4)
        var y2 = y
        t.next(10, inputs: &x, targets: &y2)
        #expect(y2 == orders[0])
    }

    @Test func checkpoints() {
        #expect(BenchRunner.checkpoints(upTo: 20_000) == [1_000, 2_000, 5_000, 10_000, 20_000])
        #expect(BenchRunner.checkpoints(upTo: 100_000) == [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000])
        #expect(BenchRunner.checkpoints(upTo: 3_000) == [1_000, 2_000, 3_000])
        #expect(BenchRunner.checkpoints(upTo: 500) == [500])
    }

    @Test func divergedRunsAreMarkedAndReportedAsNull() throws {
        let p = TeacherProblem(arch: .A, seed: 0, trainCount: 200, testCount: 50)
        let net = Network(architecture: p.arch.architecture, seed: 1)
        let run = try BenchRunner.run(
            .sgd(lr: 1e6, batch: 1), initial: net, stream: SampleStream(p.train, seed: 1), test: p.test,
            checkpoints: [100, 200])
        #expect(run.divergedAt != nil)
        #expect(run.points.allSatisfy { $0.testMSE == .infinity })
        let lines = BenchReport.jsonLines([run], extra: [("arch", "\"A\"")])
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == 2)
        #expect(objects.allSatisfy { $0["test_mse"] is NSNull })
        #expect(BenchReport.table([run]).contains("diverged"))
    }

    @Test func jsonLinesCarryTheRequiredKeys() throws {
        var bench = PaperBench(arch: .A, seeds: [1], samples: 1_000)
        bench.sgdRates = [0.01]
        bench.adamRates = [1e-3]
        let r = try #require(try bench.run().first)
        let lines = bench.jsonLines(r)
        #expect(lines.count == 3)  // ngd, sgd, adam at 1k
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["arch", "seed", "optimizer", "lr", "samples", "test_mse", "us_per_sample"] {
                #expect(o[key] != nil, "missing \(key) in \(line)")
            }
            #expect(o["arch"] as? String == "A" && o["samples"] as? Int == 1_000)
            #expect((o["test_mse"] as? Double ?? 0) > 0)
        }
        let table = bench.table(r)
        #expect(table.contains("floor (teacher)") && table.contains("ngd lr=") && table.contains("1k"))
    }

    @Test func scientificFormatting() {
        #expect(BenchReport.scientific(1.234e-6) == "1.23e-06")
        #expect(BenchReport.scientific(9.999e-3) == "1.00e-02")
        #expect(BenchReport.scientific(0) == "0")
        #expect(BenchReport.fixed(2.005, 2) == "2.01" || BenchReport.fixed(2.005, 2) == "2.00")
        #expect(BenchReport.fixed(-0.5, 1) == "-0.5")
    }
}

@Suite struct FashionMNISTTests {
    static func writeIDX(_ path: String, magic: UInt32, dims: [UInt32], pixels: [UInt8], gzip: Bool) {
        var bytes = [UInt8]()
        for w in [magic] + dims {
            bytes += [UInt8(w >> 24), UInt8(w >> 16 & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w & 0xFF)]
        }
        bytes += pixels
        if gzip {
            let f = gzopen(path, "wb")!
            _ = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) }
            gzclose(f)
        } else {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        }
    }

    static func temporaryPath(_ name: String) -> String { NSTemporaryDirectory() + "ngd-test-\(getpid())-\(name)" }

    @Test(arguments: [false, true]) func readsIDXImagesScaledToTheUnitInterval(gzip: Bool) throws {
        let path = Self.temporaryPath("images-\(gzip)")
        defer { unlink(path) }
        let pixels = (0..<(3 * 2 * 2)).map { UInt8($0 * 20) }
        Self.writeIDX(path, magic: 0x803, dims: [3, 2, 2], pixels: pixels, gzip: gzip)
        let d = try FashionMNIST.loadImages(path: path)
        #expect(d.count == 3 && d.inputSize == 4 && d.outputSize == 4)
        #expect(d.inputs == pixels.map { Double($0) / 255 })
        #expect(d.targets == d.inputs)
        #expect(try FashionMNIST.loadImages(path: path, limit: 2).count == 2)
    }

    @Test func badFilesGiveClearErrors() throws {
        #expect(throws: DatasetError.cannotOpen(path: "/nonexistent/x.gz")) {
            try FashionMNIST.loadImages(path: "/nonexistent/x.gz")
        }
        let labels = Self.temporaryPath("labels")
        defer { unlink(labels) }
        Self.writeIDX(labels, magic: 0x801, dims: [3], pixels: [1, 2, 3], gzip: true)
        #expect(throws: DatasetError.self) { try FashionMNIST.loadImages(path: labels) }
        let short = Self.temporaryPath("short")
        defer { unlink(short) }
        Self.writeIDX(short, magic: 0x803, dims: [5, 2, 2], pixels: [1, 2, 3], gzip: false)
        #expect(throws: DatasetError.truncated(path: short, expected: 20, got: 3)) {
            try FashionMNIST.loadImages(path: short)
        }
        #expect(
            DatasetError.cannotOpen(path: "/x/y.gz").description == "cannot open /x/y.gz: it is missing or not readable"
        )
    }
}

@Suite struct SpeedBenchTests {
    @Test func kernelRowsCoverEverySizeAndBlockWithFiniteTimes() {
        // n = 5 is below InverseCovariance.sequentialDimension (a block is k fused passes), 40 above.
        let rows = SpeedBench.kernels(sizes: [5, 40], blocks: [1, 3], naiveUpTo: 5)
        #expect(rows.map { [$0.n, $0.k] } == [[5, 1], [5, 3], [40, 1], [40, 3]])
        #expect(rows.allSatisfy { $0.ngd > 0 && $0.blas > 0 && $0.ngd.isFinite && $0.fraction > 0 })
        #expect(
            rows.filter { $0.n == 5 }.allSatisfy { $0.naive > 0 }
                && rows.filter { $0.n == 40 }.allSatisfy { $0.naive.isNaN })
        let table = SpeedBench.kernelTable(rows)
        #expect(table.contains("Sherman–Morrison") && table.contains("3 × fused SM") && table.contains("Woodbury 2k=6"))
    }

    @Test func stepRowsAreRelativeToSGDOnTheSameProblem() throws {
        let arch = try Architecture(sizes: [3, 4, 2], hidden: .tanh, bias: true)
        var rng = RandomSource(seed: 1)
        let data = (0..<(50 * 5)).map { _ in rng.nextGaussian() }
        let rows = try SpeedBench.steps(
            problem: "tiny", architecture: arch,
            specs: [
                (
                    "sgd lr=0.01",
                    { try SGDOptimizer(network: $0, settings: SGDSettings(learningRate: 0.01, blockSize: 1)) }
                ),
                ("ngd", { try NaturalGradientOptimizer(network: $0, settings: NaturalGradientSettings(), seed: 1) }),
            ], data: data, warmup: 20, chunk: 10, chunks: 3)
        #expect(rows.map(\.optimizer) == ["sgd lr=0.01", "ngd"] && rows.allSatisfy { $0.microseconds > 0 })
        #expect(SpeedBench.stepTable(rows).contains("1.00"))
    }
}
