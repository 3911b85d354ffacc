import ArgumentParser
import NGDDaemon

/// `ngd keygen NAME`: a CURVE key pair as the certificates pyzmq and CZMQ use.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: DIR/NAME.key (public) and DIR/NAME.key_secret (secret, mode 0600).",
        discussion: """
            The files are ZPL certificates in the layout of pyzmq's zmq.auth.create_certificates and \
            CZMQ's zcert, so either side can read the other's. Give the public .key file to whoever \
            must admit this key; keep the .key_secret file where only its owner can read it. An \
            existing file is never replaced.
            """)

    @Argument(help: ArgumentHelp("The certificate's name (the files' base name).", valueName: "name")) var name: String
    @Option(help: ArgumentHelp("Directory to write the two files to.", valueName: "dir")) var dir = "."

    func validate() throws {
        guard !name.isEmpty, !name.contains("/"), name.utf8.count <= 200 else {
            throw ValidationError("NAME must be 1–200 bytes without '/'")
        }
    }

    func run() throws {
        let (publicPath, secretPath) = try CurveCertificate.generate(name: name, directory: dir)
        print("public key: \(publicPath)\nsecret key: \(secretPath)")
    }
}
