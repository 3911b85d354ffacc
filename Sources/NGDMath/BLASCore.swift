#if canImport(Glibc)
import Glibc
#endif
import CBLAS

/// Which OpenBLAS kernels this process runs, and the fix for a known misdetection.
///
/// Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernels from the CPU
/// model. On a virtual CPU it does not know (these machines report "Intel(R) Xeon(R)
/// Processor" with AVX-512), it falls back to its Prescott (SSE3) kernels. Level-3 calls then run
/// 3–6× slower: dgemm 16×785×785 takes 2.7 ms with Prescott kernels and 0.69 ms with SkylakeX
/// ones on the same core. OpenBLAS reads `OPENBLAS_CORETYPE` only when it is loaded, so the fix
/// is to set it and re-execute the process before any work; ``reexecutingIfMisdetected()`` does.
public enum BLASCore {
    /// The kernel set OpenBLAS chose, e.g. `Haswell`, `SkylakeX`, `Prescott`.
    public static var name: String { String(cString: openblas_get_corename()) }

    /// The core type to force for a CPU with these `/proc/cpuinfo` flags when OpenBLAS chose
    /// `detected`, or nil when its choice is fine. Only the generic fallbacks are overridden.
    public static func override(detected: String, cpuFlags: Set<String>) -> String? {
        guard ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"]
            .contains(detected.lowercased()) else { return nil }
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
                return Set(s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
            }
        }
        return []
    }

    /// When OpenBLAS fell back to generic kernels on a CPU that has AVX2 or AVX-512, sets
    /// `OPENBLAS_CORETYPE` and re-executes this program with the same arguments (same PID, so
    /// systemd's MAINPID holds). Does nothing when the user set `OPENBLAS_CORETYPE`, when
    /// `NGD_BLAS_CORE=auto` is set (OpenBLAS's own choice), or on a second pass.
    public static func reexecutingIfMisdetected() {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv("NGD_BLAS_REEXEC") == nil else { return }
        if let v = getenv("NGD_BLAS_CORE"), String(cString: v) == "auto" { return }
        guard let core = override(detected: name, cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("NGD_BLAS_REEXEC", name, 1)  // remembers what OpenBLAS had chosen
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
        // execv returned: keep going with the slow kernels rather than fail.
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// A one-line description for logs and benchmark headers.
    public static var summary: String {
        if let prior = getenv("NGD_BLAS_REEXEC") {
            return "OpenBLAS kernels: \(name) (set by ngd; OpenBLAS had chosen \(String(cString: prior)) for this CPU)"
        }
        return "OpenBLAS kernels: \(name)"
    }
}
