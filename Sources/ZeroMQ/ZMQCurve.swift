import CZeroMQ

/// CURVE key material (libzmq's `zmq_curve_keypair` and `zmq_curve_public`): keys are 32 bytes
/// written as 40 characters of Z85, the form certificates and socket options use.
///
/// Thread safety: the functions are thread-safe (libzmq's are).
public enum ZMQCurve {
    /// Whether this libzmq was built with CURVE (libsodium); false makes every key call throw.
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// A new key pair from libzmq's random source, as Z85 text.
    /// - Throws: ``ZMQError`` (ENOTSUP when libzmq lacks CURVE).
    public static func keypair() throws -> (publicKey: String, secretKey: String) {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair") { zmq_curve_keypair(&pub, &sec) }
        return (Self.text(pub), Self.text(sec))
    }

    /// The public key of a Z85 secret key.
    /// - Throws: ``ZMQError`` when `secretKey` is not 40 characters of Z85 or CURVE is missing.
    public static func publicKey(forSecret secretKey: String) throws -> String {
        guard isZ85Key(secretKey) else { throw ZMQError(call: "zmq_curve_public", context: "secret key", code: EINVAL) }
        var pub = [CChar](repeating: 0, count: 41)
        var sec = Array(secretKey.utf8CString)
        defer { for i in sec.indices { sec[i] = 0 } }
        try zmqCheck("zmq_curve_public") { zmq_curve_public(&pub, &sec) }
        return Self.text(pub)
    }

    /// Whether `s` is a key in Z85 text: exactly 40 characters of the Z85 alphabet.
    public static func isZ85Key(_ s: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
        return s.utf8.count == 40 && s.utf8.allSatisfy { alphabet.contains($0) }
    }

    /// The 32 bytes of a Z85 key (as ZAP requests carry them), or nil when `key` is not one.
    public static func decode(_ key: String) -> [UInt8]? {
        guard isZ85Key(key) else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withCString { zmq_z85_decode(&out, $0) } != nil
        return ok ? out : nil
    }

    private static func text(_ c: [CChar]) -> String {
        String(decoding: c.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
