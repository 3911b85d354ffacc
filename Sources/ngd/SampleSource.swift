import Foundation
import NGDBench

/// Rows of samples for `ngd feed`: from a CSV or NPY file, or from a paper teacher network.
struct SampleSource {
    /// Values per input.
    let inputWidth: Int
    /// Values per target (0: predict-only messages).
    let outputWidth: Int
    /// Row-major rows of `inputWidth + outputWidth` values.
    let rows: [Double]
    var count: Int { rows.count / max(inputWidth + outputWidth, 1) }

    /// The paper's Figure 1 teacher stream (`arch` A, B or C): `count` fresh samples.
    static func teacher(_ arch: TeacherProblem.Arch, seed: UInt64, count: Int) -> SampleSource {
        let p = TeacherProblem(arch: arch, seed: seed, trainCount: count, testCount: 1)
        let nx = p.train.inputSize
        let ny = p.train.outputSize
        var rows = [Double]()
        rows.reserveCapacity(count * (nx + ny))
        for r in 0..<count {
            rows += p.train.inputs[(r * nx)..<((r + 1) * nx)]
            rows += p.train.targets[(r * ny)..<((r + 1) * ny)]
        }
        return SampleSource(inputWidth: nx, outputWidth: ny, rows: rows)
    }

    /// A CSV file of numbers: the first `inputs` columns are x, the rest y. A first line that is
    /// not numeric is taken as a header and skipped.
    static func csv(path: String, inputs: Int) throws -> SampleSource {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CommandFailure("cannot read \(path): \((error as NSError).localizedDescription)")
        }
        var rows = [Double]()
        var width = -1
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let cells = trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let values = cells.compactMap(Double.init)
            if values.count != cells.count {
                if width < 0 && rows.isEmpty { continue }  // header
                throw CommandFailure(
                    "\(path) line \(n + 1): not a number in \(cells.filter { Double($0) == nil }.first ?? "")")
            }
            if width < 0 { width = values.count }
            guard values.count == width else {
                throw CommandFailure("\(path) line \(n + 1): \(values.count) columns, the first row has \(width)")
            }
            guard values.allSatisfy(\.isFinite) else { throw CommandFailure("\(path) line \(n + 1): non-finite value") }
            rows += values
        }
        return try split(rows, width: width, inputs: inputs, path: path)
    }

    /// A NumPy `.npy` file holding a 2-D C-order float64 or float32 array (format 1.0–3.0).
    static func npy(path: String, inputs: Int) throws -> SampleSource {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
        let b = [UInt8](data)
        guard b.count >= 10, Array(b[0..<6]) == [0x93] + Array("NUMPY".utf8) else {
            throw CommandFailure("\(path) is not a .npy file")
        }
        let major = b[6]
        let headerLength: Int
        let start: Int
        if major == 1 {
            headerLength = Int(b[8]) | Int(b[9]) << 8
            start = 10
        } else if major == 2 || major == 3, b.count >= 12 {
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        } else {
            throw CommandFailure("\(path): unsupported .npy format version \(major)")
        }
        guard b.count >= start + headerLength else { throw CommandFailure("\(path): truncated header") }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        let size: Int
        if header.contains("'<f8'") {
            size = 8
        } else if header.contains("'<f4'") {
            size = 4
        } else {
            throw CommandFailure(
                "\(path): dtype must be little-endian float64 or float32 ('<f8' or '<f4'); header: \(header)")
        }
        guard header.contains("'fortran_order': False") else {
            throw CommandFailure("\(path): Fortran-order arrays are not supported")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw CommandFailure("\(path): no shape in header") }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard dims.count == 2 else {
            throw CommandFailure("\(path): the array must be 2-D (samples × columns), shape is \(dims)")
        }
        let body = start + headerLength
        let n = dims[0] * dims[1]
        guard b.count == body + n * size else {
            throw CommandFailure("\(path): \(b.count - body) data bytes, shape \(dims) needs \(n * size)")
        }
        let rows: [Double] = b.withUnsafeBytes { raw in
            (0..<n).map { i in
                size == 8
                    ? Double(
                        bitPattern: UInt64(
                            littleEndian: raw.loadUnaligned(fromByteOffset: body + 8 * i, as: UInt64.self)))
                    : Double(
                        Float(
                            bitPattern: UInt32(
                                littleEndian: raw.loadUnaligned(fromByteOffset: body + 4 * i, as: UInt32.self))))
            }
        }
        guard rows.allSatisfy(\.isFinite) else { throw CommandFailure("\(path): the array holds non-finite values") }
        return try split(rows, width: dims[1], inputs: inputs, path: path)
    }

    static func split(_ rows: [Double], width: Int, inputs: Int, path: String) throws -> SampleSource {
        guard width > 0, !rows.isEmpty else { throw CommandFailure("\(path) holds no samples") }
        guard inputs >= 1, inputs <= width else {
            throw CommandFailure("--inputs \(inputs) must be between 1 and the \(width) columns of \(path)")
        }
        return SampleSource(inputWidth: inputs, outputWidth: width - inputs, rows: rows)
    }

    /// Sample `r`'s input and target.
    func sample(_ r: Int) -> (x: ArraySlice<Double>, y: ArraySlice<Double>) {
        let w = inputWidth + outputWidth
        return (rows[(r * w)..<(r * w + inputWidth)], rows[(r * w + inputWidth)..<((r + 1) * w)])
    }
}
