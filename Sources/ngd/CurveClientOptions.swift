import ArgumentParser
import NGDClient
import NGDDaemon

/// `--curve-server-key` and `--curve-key`: how `ngd feed` and `ngd tail` reach a daemon whose
/// sockets are CURVE servers.
struct CurveClientOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The daemon's public certificate (the NAME.key beside its [daemon.curve] server_key); with --curve-key, connect with CURVE.",
            valueName: "file")) var curveServerKey: String?
    @Option(
        help: ArgumentHelp(
            "This client's secret certificate (NAME.key_secret from `ngd keygen`), whose NAME.key the daemon lists.",
            valueName: "file")) var curveKey: String?

    func validate() throws {
        guard (curveServerKey == nil) == (curveKey == nil) else {
            throw ValidationError("--curve-server-key and --curve-key go together")
        }
    }

    /// The keys read from both files, or nil without CURVE.
    /// - Throws: ``CommandFailure`` naming the file that cannot be used.
    func keys() throws -> CurveClientKeys? {
        guard let serverPath = curveServerKey, let clientPath = curveKey else { return nil }
        do {
            let server = try CurveCertificate.read(path: serverPath)
            let client = try CurveCertificate.read(path: clientPath)
            guard let secret = client.secretKey else {
                throw CommandFailure(
                    "--curve-key \(clientPath): a public certificate; give this client's NAME.key_secret")
            }
            return CurveClientKeys(serverKey: server.publicKey, publicKey: client.publicKey, secretKey: secret)
        } catch let e as CertificateError { throw CommandFailure("\(e)") }
    }
}
