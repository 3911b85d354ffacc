import Foundation
import NGDSystem
import ZeroMQ

/// A CURVE certificate in the ZPL text format that pyzmq (`zmq.auth.create_certificates`,
/// `load_certificate`) and CZMQ (`zcert`) write and read: `NAME.key` holds the public key,
/// `NAME.key_secret` the public and the secret key, each under a `curve` section:
///
///     metadata
///     curve
///         public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
///         secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
///
/// Thread safety: a value type; reading and writing files is the caller's to serialise.
public struct CurveCertificate: Equatable, Sendable {
    /// The public key, 40 characters of Z85.
    public let publicKey: String
    /// The secret key, 40 characters of Z85, when this is a secret certificate.
    public let secretKey: String?

    /// The largest certificate file read, in bytes (pyzmq's are about 400).
    public static let maximumFileSize = 64 << 10

    /// Parses a certificate's text: `#` comment lines, unindented section names, indented
    /// `name = value` lines (values bare, or in double or single quotes). Linear in the text.
    /// - Throws: ``CertificateError`` naming `path` and what is wrong: no `curve` section or
    ///   `public-key`, a key that is not 40 characters of Z85, or a secret key whose public
    ///   key is not the one written beside it.
    public static func parse(_ bytes: [UInt8], path: String) throws(CertificateError) -> CurveCertificate {
        var section = ""
        var publicKey: String?
        var secretKey: String?
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let indented = raw.first == UInt8(ascii: " ") || raw.first == UInt8(ascii: "\t")
            let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !indented {
                section = line
                continue
            }
            guard section == "curve", let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            switch name {
            case "public-key": publicKey = value
            case "secret-key": secretKey = value
            default: continue
            }
        }
        guard let pub = publicKey else {
            throw CertificateError(path: path, reason: "no public-key in a curve section (not a CURVE certificate)")
        }
        guard ZMQCurve.isZ85Key(pub) else {
            throw CertificateError(path: path, reason: "public-key is not 40 characters of Z85")
        }
        if let sec = secretKey {
            guard ZMQCurve.isZ85Key(sec) else {
                throw CertificateError(path: path, reason: "secret-key is not 40 characters of Z85")
            }
            let derived: String
            do { derived = try ZMQCurve.publicKey(forSecret: sec) } catch {
                throw CertificateError(path: path, reason: "\(error)")
            }
            guard derived == pub else {
                throw CertificateError(path: path, reason: "secret-key does not belong to the public-key beside it")
            }
        }
        return CurveCertificate(publicKey: pub, secretKey: secretKey)
    }

    /// Reads the certificate at `path` (at most ``maximumFileSize`` bytes, a regular file).
    /// - Throws: ``CertificateError``.
    public static func read(path: String) throws(CertificateError) -> CurveCertificate {
        let bytes: [UInt8]?
        do { bytes = try FileIO.readAll(path: path) } catch {
            throw CertificateError(path: path, reason: "\(error)")
        }
        guard let bytes else { throw CertificateError(path: path, reason: "no such file") }
        guard bytes.count <= maximumFileSize else {
            throw CertificateError(path: path, reason: "larger than \(maximumFileSize) bytes; not a certificate")
        }
        return try parse(bytes, path: path)
    }

    /// The text of the public certificate (`NAME.key`), as pyzmq lays it out.
    public var publicText: String {
        Self.text(kind: "Public", warning: Self.publicWarning, keys: [("public-key", publicKey)])
    }

    /// The text of the secret certificate (`NAME.key_secret`); nil without a secret key.
    public var secretText: String? {
        secretKey.map {
            Self.text(
                kind: "**Secret**", warning: ["DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."],
                keys: [("public-key", publicKey), ("secret-key", $0)])
        }
    }

    static let publicWarning = [
        "Exchange securely, or use a secure mechanism to verify the contents",
        "of this file after exchange. Store public certificates in your home",
        "directory, in the .curve subdirectory.",
    ]

    private static func text(kind: String, warning: [String], keys: [(String, String)]) -> String {
        var lines = ["#   ****  Generated by ngd keygen  ****", "#   ZeroMQ CURVE \(kind) Certificate"]
        lines += warning.map { "#   " + $0 }
        lines += ["", "metadata", "curve"]
        lines += keys.map { "    \($0.0) = \"\($0.1)\"" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Makes a new key pair and writes `DIRECTORY/NAME.key` (mode 0644) and
    /// `DIRECTORY/NAME.key_secret` (mode 0600). Never replaces an existing file.
    /// - Returns: the two paths.
    /// - Throws: ``CertificateError`` (a file already there, an unwritable directory, no CURVE).
    public static func generate(
        name: String, directory: String
    ) throws(CertificateError) -> (
        publicPath: String, secretPath: String
    ) {
        let publicPath = directory + "/" + name + ".key"
        let secretPath = publicPath + "_secret"
        guard !name.isEmpty, !name.contains("/") else {
            throw CertificateError(path: publicPath, reason: "a certificate name must be non-empty, without '/'")
        }
        let keys: (publicKey: String, secretKey: String)
        do { keys = try ZMQCurve.keypair() } catch { throw CertificateError(path: publicPath, reason: "\(error)") }
        let cert = CurveCertificate(publicKey: keys.publicKey, secretKey: keys.secretKey)
        for path in [publicPath, secretPath] where FileManager.default.fileExists(atPath: path) {
            throw CertificateError(path: path, reason: "already exists; ngd keygen never replaces a key")
        }
        do {
            try FileIO.createNew(Array(cert.secretText!.utf8), path: secretPath, mode: 0o600)
            try FileIO.createNew(Array(cert.publicText.utf8), path: publicPath, mode: 0o644)
        } catch { throw CertificateError(path: error.path ?? publicPath, reason: "\(error)") }
        return (publicPath, secretPath)
    }
}

/// A certificate that cannot be read, parsed or written.
public struct CertificateError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "certificate \(path): \(reason)" }
}
