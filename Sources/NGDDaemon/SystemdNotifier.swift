import Foundation
import NGDSystem

/// Speaks systemd's notify protocol (sd_notify(3)) without libsystemd: each state is one
/// datagram of `KEY=VALUE` lines sent to the Unix socket named by `$NOTIFY_SOCKET` (a leading
/// `@` names an abstract socket). Without `$NOTIFY_SOCKET` every call does nothing.
///
/// Thread safety: none; the serve loop's thread owns it.
public final class SystemdNotifier {
    private let address: [UInt8]?
    private var fd: Int32 = -1
    /// Half of `$WATCHDOG_USEC`, when the watchdog is on for this process.
    public let watchdogInterval: Duration?
    private var lastWatchdog = ContinuousClock.now

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let s = environment["NOTIFY_SOCKET"], !s.isEmpty, s.hasPrefix("/") || s.hasPrefix("@") {
            address = Array(s.utf8)
        } else {
            address = nil
        }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether systemd asked for notifications.
    public var isEnabled: Bool { address != nil }

    /// Sends `state` (e.g. `READY=1`). Failures are returned, not thrown: notification is best effort.
    @discardableResult public func notify(_ state: String) -> Bool {
        guard let address else { return false }
        if fd < 0 {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return false }
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathCapacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard address.count < pathCapacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in address.enumerated() { p[i] = b }
            if address.first == UInt8(ascii: "@") { p[0] = 0 }  // abstract namespace
        }
        // Abstract addresses are not NUL-terminated: their length is exact.
        let length = MemoryLayout<sa_family_t>.size + address.count + (address.first == UInt8(ascii: "@") ? 0 : 1)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { b in
                    (try? systemCall("sendto") {
                        sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), sa, socklen_t(length))
                    }) ?? -1
                }
            }
        }
        return sent == bytes.count
    }

    /// When the next `WATCHDOG=1` is due, or nil without a watchdog.
    public var nextWatchdog: ContinuousClock.Instant? { watchdogInterval.map { lastWatchdog + $0 } }

    /// Sends `WATCHDOG=1` when half the watchdog period has passed since the last one. Call it on
    /// every turn of the main loop, busy or idle.
    public func watchdogIfDue(now: ContinuousClock.Instant = .now) {
        guard let interval = watchdogInterval, now - lastWatchdog >= interval else { return }
        lastWatchdog = now
        notify("WATCHDOG=1")
    }
}
