import Foundation
import Testing
import ZeroMQ

@testable import NGDDaemon

/// CURVE certificates: what `ngd keygen` writes reads back, a secret key derives its public
/// key, and bad or foreign files are refused with the reason.
@Suite struct CurveCertificateTests {
    func directory() -> String {
        let d = NSTemporaryDirectory() + "ngd-certs-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func keygenWritesAPairThatReadsBackAndNeverReplacesIt() throws {
        let d = directory()
        let (pub, sec) = try CurveCertificate.generate(name: "daemon", directory: d)
        #expect(pub == d + "/daemon.key" && sec == d + "/daemon.key_secret")
        let p = try CurveCertificate.read(path: pub)
        let s = try CurveCertificate.read(path: sec)
        #expect(p.secretKey == nil && s.publicKey == p.publicKey)
        #expect(try ZMQCurve.publicKey(forSecret: try #require(s.secretKey)) == p.publicKey)
        let modes = try [pub, sec].map {
            try FileManager.default.attributesOfItem(atPath: $0)[.posixPermissions] as? Int
        }
        #expect(modes == [0o644, 0o600])
        #expect(throws: CertificateError.self) { try CurveCertificate.generate(name: "daemon", directory: d) }
        #expect(try CurveCertificate.read(path: pub) == p)  // untouched
    }

    /// A file as pyzmq 26 writes it (zmq.auth.create_certificates), keys from libzmq's test
    /// vectors: Z85 may hold '#', '"' is not in its alphabet, so quotes delimit safely.
    @Test func readsPyzmqsLayout() throws {
        let text = """
            #   ****  Generated on 2026-12-02 20:00:03.616965 by pyzmq  ****
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            metadata
            curve
                public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
                secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"

            """
        let c = try CurveCertificate.parse(Array(text.utf8), path: "s")
        #expect(c.publicKey == "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")
        #expect(c.secretKey == "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")
    }

    @Test(arguments: [
        ("metadata\ncurve\n", "no public-key"),
        ("curve\n    public-key = \"short\"\n", "not 40 characters of Z85"),
        ("public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n", "no public-key"),  // not in a section
        (
            "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
                + "    secret-key = \"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\"\n",
            "does not belong to the public-key"
        ),
        ("\u{1}\u{2}garbage", "no public-key"),
    ]) func badCertificatesSayWhy(text: String, reason: String) {
        do {
            _ = try CurveCertificate.parse(Array(text.utf8), path: "x.key")
            Issue.record("accepted \(text)")
        } catch { #expect(error.description.contains("x.key") && error.description.contains(reason), "\(error)") }
    }
}
