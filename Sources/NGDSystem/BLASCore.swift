import CBLAS

#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernels this process runs, and the fix for a known misdetection.
///
/// Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernels from the CPU
/// model. On a virtual CPU it does not know (these machines report "Intel(R) Xeon(R)
/// Processor" with AVX-512), it falls back to its Prescott (SSE3) kernels, and level-3 calls run
/// several times slower (docs/performance.md has the figures). OpenBLAS reads
/// `OPENBLAS_CORETYPE` only when it is loaded, so the fix is to set it and re-execute the
/// process before any work; ``reexecutingIfNeeded()`` does.
public enum BLASCore {
    /// The kernel set OpenBLAS chose, e.g. `Haswell`, `SkylakeX`, `Prescott`.
    public static var name: String { String(cString: openblas_get_corename()) }

    /// The core type to force for a CPU with these `/proc/cpuinfo` flags when OpenBLAS chose
    /// `detected`, or nil when its choice is fine. Only the generic fallbacks are overridden.
    public static func override(detected: String, cpuFlags: Set<String>) -> String? {
        guard
            ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"].contains(
                detected.lowercased())
        else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if cpuFlags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// The flags of the first CPU in `/proc/cpuinfo` (empty when unreadable).
    public static func cpuFlags() -> Set<String> {
        guard let f = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            let s = String(cString: line!)
            if s.hasPrefix("flags") {
                guard let colon = s.firstIndex(of: ":") else { return [] }
                return Set(
                    s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(
                        String.init))
            }
        }
        return []
    }

    /// Fixes, before any work, the two OpenBLAS settings that are read only when the library
    /// loads, and re-executes this program with the same arguments when one needed fixing (same
    /// PID, so systemd's MAINPID holds):
    /// - `OPENBLAS_NUM_THREADS=1` when no thread count is set. ngd runs BLAS on one thread, and
    ///   `openblas_set_num_threads(1)` at run time leaves OpenBLAS's worker pool alive, spinning
    ///   in `sched_yield` on CPU a daemon's producer and subscriber need (docs/performance.md).
    /// - `OPENBLAS_CORETYPE` when OpenBLAS fell back to generic kernels on a CPU that has AVX2 or
    ///   AVX-512, unless `NGD_BLAS_CORE=auto` asks for OpenBLAS's own choice.
    ///
    /// Values the user set are kept. Does nothing on the second pass.
    public static func reexecutingIfNeeded() {
        guard getenv(reexecMarker) == nil else { return }
        var changed = false
        let threadVariables: [String] = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"]
        if threadVariables.allSatisfy({ getenv($0) == nil }) {
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
            changed = true
        }
        let auto = getenv("NGD_BLAS_CORE").map { String(cString: $0) == "auto" } ?? false
        if getenv("OPENBLAS_CORETYPE") == nil, !auto, let core = override(detected: name, cpuFlags: cpuFlags()) {
            setenv("OPENBLAS_CORETYPE", core, 1)
            setenv(priorCoreVariable, name, 1)  // remembers what OpenBLAS had chosen
            changed = true
        }
        guard changed else { return }
        setenv(reexecMarker, "1", 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
        // execv returned: keep going with what the library chose rather than fail.
        unsetenv(priorCoreVariable)
    }

    /// Set in the environment of the re-executed process.
    static let reexecMarker = "NGD_BLAS_REEXEC"
    /// The core OpenBLAS had chosen, when ngd replaced it with `OPENBLAS_CORETYPE`.
    public static let priorCoreVariable = "NGD_BLAS_PRIOR_CORE"

    /// A one-line description for logs and benchmark headers.
    public static var summary: String {
        let pool = "\(openblas_get_num_threads())-thread pool"
        if let prior = getenv(priorCoreVariable) {
            return
                "OpenBLAS kernels: \(name) (set by ngd; OpenBLAS had chosen \(String(cString: prior)) for this CPU), \(pool)"
        }
        return "OpenBLAS kernels: \(name), \(pool)"
    }
}
