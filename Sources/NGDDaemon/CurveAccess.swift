import Foundation
import ZeroMQ

/// Who may use which socket under CURVE: the server's key pair and, per ZAP domain, the public
/// keys of the `.key` certificates in that domain's directory. `ngd serve` (`[daemon.curve]`)
/// and `ngd proxy` (`--curve-*`) each read one at start, before anything is bound.
///
/// Thread safety: a value; the thread that owns the ZAP handler owns it.
public struct CurveAccess: Sendable {
    /// The ZAP domains ngd's sockets announce; each has its own directory of keys.
    public enum Domain: String, CaseIterable, Sendable {
        /// Producers: a daemon's input, a proxy's `--input`.
        case input = "ngd-input"
        /// Subscribers: a daemon's output, a proxy's `--output`.
        case output = "ngd-output"
        /// Administrators: a daemon's or a proxy's control endpoint.
        case control = "ngd-control"
        /// Daemons: a proxy's `--to-daemons` and `--from-daemons`.
        case daemons = "ngd-daemons"
    }

    /// One domain's directory, and the setting that names it (for errors).
    public struct Directory: Sendable {
        public let domain: Domain
        public let path: String
        public let setting: ConfigError.Location
        public init(_ domain: Domain, _ path: String, setting: ConfigError.Location) {
            (self.domain, self.path, self.setting) = (domain, path, setting)
        }
    }

    /// The server's public key (Z85); a daemon also uses it as a CURVE client of a proxy.
    public let serverPublicKey: String
    /// The server's secret key (Z85).
    public let serverSecretKey: String
    /// Where each domain's keys come from, read again by ``reloaded()``.
    public let directories: [Directory]
    /// The public keys (32 bytes each, as ZAP requests carry them) allowed per domain.
    public let allowed: [Domain: Set<[UInt8]>]

    /// Reads the secret certificate at `serverKey` and every directory.
    /// - Throws: ``ConfigError`` at `setting` (the server key) or at the directory's setting when
    ///   a file or directory is missing, unreadable, or not a valid certificate.
    public static func load(
        serverKey: String, setting: ConfigError.Location, directories: [Directory]
    ) throws(ConfigError) -> CurveAccess {
        guard ZMQCurve.isAvailable else {
            throw ConfigError(setting, "this libzmq was built without CURVE (libsodium)")
        }
        let server: CurveCertificate
        do { server = try CurveCertificate.read(path: serverKey) } catch { throw ConfigError(setting, "\(error)") }
        guard let secret = server.secretKey else {
            throw ConfigError(setting, "\(serverKey) holds no secret-key (give the .key_secret file)")
        }
        return CurveAccess(
            serverPublicKey: server.publicKey, serverSecretKey: secret, directories: directories,
            allowed: try allowedKeys(directories))
    }

    /// The same server key with every directory read again (SIGHUP).
    /// - Throws: ``ConfigError`` as ``load(serverKey:setting:directories:)``.
    public func reloaded() throws(ConfigError) -> CurveAccess {
        try CurveAccess(
            serverPublicKey: serverPublicKey, serverSecretKey: serverSecretKey, directories: directories,
            allowed: Self.allowedKeys(directories))
    }

    static func allowedKeys(_ directories: [Directory]) throws(ConfigError) -> [Domain: Set<[UInt8]>] {
        var allowed: [Domain: Set<[UInt8]>] = [:]
        for d in directories { allowed[d.domain, default: []].formUnion(try keys(in: d.path, setting: d.setting)) }
        return allowed
    }

    /// The public keys of the `*.key` certificates in `dir`.
    static func keys(in dir: String, setting: ConfigError.Location) throws(ConfigError) -> Set<[UInt8]> {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw ConfigError(setting, "cannot read the directory '\(dir)': \(error.localizedDescription)")
        }
        var keys = Set<[UInt8]>()
        for name in names.sorted() where name.hasSuffix(".key") {
            do {
                let c = try CurveCertificate.read(path: dir + "/" + name)
                if let k = ZMQCurve.decode(c.publicKey) { keys.insert(k) }
            } catch { throw ConfigError(setting, "\(error)") }
        }
        return keys
    }

    /// Makes `s` a CURVE server with this key, announcing `domain` to the ZAP handler.
    func makeServer(_ s: ZMQSocket, domain: Domain) throws {
        try s.setCurveServer(secretKey: serverSecretKey)
        try s.setZapDomain(domain.rawValue)
    }

    /// Whether a ZAP request (the frames libzmq sends to `inproc://zeromq.zap.01`) comes from
    /// an allowed key: version 1.0, mechanism CURVE, a known domain, and a public key listed
    /// for that domain.
    func admits(_ request: [[UInt8]]) -> Bool {
        guard request.count >= 7, request[0] == Array("1.0".utf8), request[5] == Array("CURVE".utf8),
            let domain = Domain(rawValue: String(decoding: request[2], as: UTF8.self))
        else { return false }
        return allowed[domain]?.contains(request[6]) ?? false
    }

    /// The ZAP reply to `request`: 200 for an admitted key, 400 otherwise.
    static func reply(to request: [[UInt8]], admitted: Bool) -> [[UInt8]] {
        let id = request.count > 1 ? request[1] : []
        return [
            Array("1.0".utf8), id, Array((admitted ? "200" : "400").utf8),
            Array((admitted ? "OK" : "key not allowed on this socket").utf8), [], [],
        ]
    }
}

extension CurveAccess {
    /// The access `[daemon.curve]` describes, or nil when `curve.server_key` is empty (plain
    /// text). A socket that is a CURVE client of a proxy (`curve.proxy_key`) needs no directory.
    /// - Throws: ``ConfigError`` naming the setting whose file or directory cannot be used.
    static func load(_ config: DaemonConfig) throws(ConfigError) -> CurveAccess? {
        guard !config.curveServerKey.isEmpty else { return nil }
        let directories = [
            (Domain.input, DaemonSettingName.curveProducers, config.curveProducers),
            (.output, .curveSubscribers, config.curveSubscribers), (.control, .curveAdmins, config.curveAdmins),
        ].filter { !$0.2.isEmpty }.map { Directory($0.0, $0.2, setting: .daemon($0.1)) }
        return try load(serverKey: config.curveServerKey, setting: .daemon(.curveServerKey), directories: directories)
    }
}

extension CurveAccess {
    /// The public key of `curve.proxy_key`, or nil when it is empty.
    /// - Throws: ``ConfigError`` at `curve.proxy_key` when the file is not a certificate.
    static func proxyKey(_ config: DaemonConfig) throws(ConfigError) -> String? {
        guard !config.curveProxyKey.isEmpty else { return nil }
        do { return try CurveCertificate.read(path: config.curveProxyKey).publicKey } catch {
            throw ConfigError(.daemon(.curveProxyKey), "\(error)")
        }
    }
}
