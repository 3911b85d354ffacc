import CZeroMQ

/// One event of a socket monitor (``ZMQSocket/monitor(_:events:)``): what happened, its value
/// (an errno, a ZAP status code, a file descriptor, depending on the event) and the endpoint.
public struct ZMQMonitorEvent: Equatable, Sendable {
    /// Which events; a set, to choose what a monitor reports.
    public struct Kind: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let connected = Kind(rawValue: ZMQ_EVENT_CONNECTED)
        public static let connectRetried = Kind(rawValue: ZMQ_EVENT_CONNECT_RETRIED)
        public static let disconnected = Kind(rawValue: ZMQ_EVENT_DISCONNECTED)
        public static let monitorStopped = Kind(rawValue: ZMQ_EVENT_MONITOR_STOPPED)
        /// The ZMTP handshake failed for a reason libzmq does not detail.
        public static let handshakeFailedNoDetail = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        public static let handshakeSucceeded = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        /// The peer broke the protocol (a wrong CURVE server key, a non-ZeroMQ peer).
        public static let handshakeFailedProtocol = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        /// The peer's ZAP handler refused this socket's key; the value is the ZAP status code.
        public static let handshakeFailedAuth = Kind(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        /// Every handshake failure.
        public static let handshakeFailed: Kind = [
            .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth,
        ]
    }

    public let kind: Kind
    public let value: UInt32
    public let endpoint: String

    public init(kind: Kind, value: UInt32, endpoint: String) {
        (self.kind, self.value, self.endpoint) = (kind, value, endpoint)
    }

    /// The event in a monitor message: a 6-byte frame (u16 event, u32 value, in the host's byte
    /// order, read here as little-endian: x86-64 and arm64)
    /// and the endpoint; nil for anything else.
    public init?(frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let f = frames[0]
        let event = UInt16(f[0]) | UInt16(f[1]) << 8
        let value = UInt32(f[2]) | UInt32(f[3]) << 8 | UInt32(f[4]) << 16 | UInt32(f[5]) << 24
        self.init(
            kind: Kind(rawValue: Int32(event)), value: value, endpoint: String(decoding: frames[1], as: UTF8.self))
    }
}
