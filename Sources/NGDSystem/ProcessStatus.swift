import Foundation

/// What Linux's `/proc` says about processes.
public enum ProcessStatus {
    /// The path of this process's executable (`/proc/self/exe`), or `argv[0]` when unreadable.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The peak resident set size of process `pid` in bytes (`VmHWM` of `/proc/PID/status`), or
    /// nil when unreadable (the process is gone, or this is not Linux).
    public static func peakResidentBytes(pid: Int32) -> Int? { statusKiB("VmHWM", pid: pid).map { $0 * 1024 } }

    /// The resident set size of process `pid` in bytes now (`VmRSS`), or nil when unreadable.
    public static func residentBytes(pid: Int32) -> Int? { statusKiB("VmRSS", pid: pid).map { $0 * 1024 } }

    /// A `NAME:  N kB` line of `/proc/PID/status`.
    private static func statusKiB(_ name: String, pid: Int32) -> Int? {
        guard let bytes = try? FileIO.readAll(path: "/proc/\(pid)/status") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
            let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kib
    }

    /// The machine's physical memory in bytes (`sysconf`), or nil when unknown.
    public static var physicalMemoryBytes: Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? nil : bytes
    }
}
