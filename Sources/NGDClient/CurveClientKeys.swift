import ZeroMQ

/// The keys a client needs to talk to a daemon whose sockets are CURVE servers
/// (`[daemon.curve]`): the daemon's public key, and this client's own key pair, whose public
/// key must be in the directory of the socket it connects to (`producers`, `subscribers` or
/// `admins`). Each key is 40 characters of Z85, as in a ZPL certificate.
public struct CurveClientKeys: Equatable, Sendable {
    /// The daemon's public key (`public-key` of its `NAME.key`).
    public var serverKey: String
    /// This client's public key.
    public var publicKey: String
    /// This client's secret key.
    public var secretKey: String

    public init(serverKey: String, publicKey: String, secretKey: String) {
        self.serverKey = serverKey
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

extension ZMQSocket {
    /// Makes this socket a CURVE client with `keys`; nothing when `keys` is nil. Call before
    /// connect.
    func setCurve(_ keys: CurveClientKeys?) throws {
        guard let keys else { return }
        try setCurveClient(serverKey: keys.serverKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
    }
}
