import Foundation
import ZeroMQ

/// Who may use which socket under CURVE (`[daemon.curve]`): the daemon's secret key and, per
/// socket, the public keys of the `.key` certificates in that socket's directory. Read once at
/// start, before anything is bound.
///
/// Thread safety: a value; the serve loop's thread owns it.
struct CurveAccess {
    /// The ZAP domains the daemon's sockets announce; each has its own directory of keys.
    enum Domain: String, CaseIterable {
        case input = "ngd-input"
        case output = "ngd-output"
        case control = "ngd-control"
    }

    let serverSecretKey: String
    let allowed: [Domain: Set<[UInt8]>]

    /// The access `config` describes, or nil when `curve.server_key` is empty (plain text).
    /// - Throws: ``ConfigError`` naming the setting whose file or directory is missing,
    ///   unreadable, or holds no valid certificate.
    static func load(_ config: DaemonConfig) throws(ConfigError) -> CurveAccess? {
        guard !config.curveServerKey.isEmpty else { return nil }
        guard ZMQCurve.isAvailable else {
            throw ConfigError(.daemon(.curveServerKey), "this libzmq was built without CURVE (libsodium)")
        }
        let server: CurveCertificate
        do { server = try CurveCertificate.read(path: config.curveServerKey) } catch {
            throw ConfigError(.daemon(.curveServerKey), "\(error)")
        }
        guard let secret = server.secretKey else {
            throw ConfigError(
                .daemon(.curveServerKey), "\(config.curveServerKey) holds no secret-key (give the .key_secret file)")
        }
        return CurveAccess(serverSecretKey: secret, allowed: try allowedKeys(config))
    }

    /// The same server key with the three directories read again.
    /// - Throws: ``ConfigError`` as ``load(_:)``.
    func reloaded(_ config: DaemonConfig) throws(ConfigError) -> CurveAccess {
        try CurveAccess(serverSecretKey: serverSecretKey, allowed: Self.allowedKeys(config))
    }

    static func allowedKeys(_ config: DaemonConfig) throws(ConfigError) -> [Domain: Set<[UInt8]>] {
        var allowed: [Domain: Set<[UInt8]>] = [:]
        for (domain, key, dir) in [
            (Domain.input, DaemonSettingName.curveProducers, config.curveProducers),
            (.output, .curveSubscribers, config.curveSubscribers), (.control, .curveAdmins, config.curveAdmins),
        ] {
            allowed[domain] = try keys(in: dir, setting: key)
        }
        return allowed
    }

    /// The public keys of the `*.key` certificates in `dir` (32 bytes each, as ZAP gives them).
    static func keys(in dir: String, setting: DaemonSettingName) throws(ConfigError) -> Set<[UInt8]> {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw ConfigError(.daemon(setting), "cannot read the directory '\(dir)': \(error.localizedDescription)")
        }
        var keys = Set<[UInt8]>()
        for name in names.sorted() where name.hasSuffix(".key") {
            do {
                let c = try CurveCertificate.read(path: dir + "/" + name)
                if let k = ZMQCurve.decode(c.publicKey) { keys.insert(k) }
            } catch { throw ConfigError(.daemon(setting), "\(error)") }
        }
        return keys
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
