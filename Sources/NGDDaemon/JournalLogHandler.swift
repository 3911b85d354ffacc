import Foundation
import Logging
import NGDSystem

/// Writes one line per log event to stderr.
///
/// When stderr is the systemd journal (`$JOURNAL_STREAM` names stderr's device and inode), each
/// line starts with the sd-daemon(3) priority prefix (`<3>` error … `<7>` debug) and carries no
/// timestamp, since the journal adds its own. Otherwise lines start with an ISO 8601 time.
/// Metadata follows the message as `key=value` pairs, sorted by key.
///
/// Thread safety: each line is written with one `write(2)`, so lines from threads never interleave.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let journal: Bool

    public init(label: String, level: Logger.Level = .info, journal: Bool = JournalLogHandler.stderrIsJournal()) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// True when `$JOURNAL_STREAM` ("DEV:INODE") matches stderr (systemd's documented test).
    public static func stderrIsJournal() -> Bool {
        guard let v = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = v.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The line for one event (without the newline).
    func format(_ event: LogEvent, now: Date = Date()) -> String {
        var all = metadata
        if let p = metadataProvider { all.merge(p.get(), uniquingKeysWith: { _, new in new }) }
        if let m = event.metadata { all.merge(m, uniquingKeysWith: { _, new in new }) }
        let fields = all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = fields.isEmpty ? "\(event.message)" : "\(event.message) \(fields)"
        let oneLine = String(text.map { $0 == "\n" ? " " : $0 })
        if journal { return "<\(Self.priority(event.level))>\(label): \(oneLine)" }
        return "\(now.formatted(.iso8601)) \(event.level) \(label): \(oneLine)"
    }

    public func log(event: LogEvent) { FileIO.emit(format(event) + "\n", to: 2) }
}
