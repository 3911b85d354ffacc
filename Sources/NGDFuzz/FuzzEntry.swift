// `ngd-fuzz`: the decoders of docs/protocol.md, the configuration and the checkpoints, as
// fuzz targets (NGDDaemon's FuzzTarget). `scripts/fuzz` builds this product with
// `-sanitize=fuzzer,address -DFUZZING`, and libFuzzer supplies `main` and calls
// LLVMFuzzerTestOneInput with the target named by NGD_FUZZ_TARGET. Built normally, it replays
// files instead: `ngd-fuzz TARGET FILE…` runs each file through the target once (the seed
// corpora in Tests/Fuzz, and any crash a fuzzer found).
import Foundation
import NGDDaemon

#if FUZZING
let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["NGD_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set NGD_FUZZ_TARGET to one of \(names)\n".utf8))
        exit(2)
    }
    return t
}()

/// libFuzzer's driver: SwiftPM links an executable's entry point as `NGDFuzz_main`, so the
/// entry point hands control to libFuzzer explicitly.
@_silgen_name("LLVMFuzzerRunDriver") func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("NGDFuzz_main") public func fuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in fuzzOne(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput") public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do { try fuzzTarget.run(bytes) } catch {
        FileHandle.standardError.write(Data("property failed: \(error)\n".utf8))
        abort()
    }
    return 0
}
#else
@main struct FuzzReplay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " | ")
            print("usage: ngd-fuzz (\(names)) FILE…  — runs each file through the target once")
            exit(2)
        }
        var failed = 0
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): unreadable")
                failed += 1
                continue
            }
            do { try target.run(Array(data)) } catch {
                print("\(path): \(error)")
                failed += 1
            }
        }
        print("\(name): \(args.count - 1 - failed) of \(args.count - 1) inputs passed")
        exit(failed == 0 ? 0 : 1)
    }
}
#endif
