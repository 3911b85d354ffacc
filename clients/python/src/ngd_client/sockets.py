"""CURVE keys and the sockets of a client."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import zmq
import zmq.auth


@dataclass(frozen=True)
class Curve:
    """The keys for a daemon whose sockets are CURVE servers (``[daemon.curve]``).

    ``server_key`` is the daemon's public certificate (``daemon.key``, beside its
    ``server_key``); ``client_key`` is this client's secret certificate (``NAME.key_secret``
    from ``ngd keygen`` or ``zmq.auth.create_certificates``), whose ``NAME.key`` the daemon
    lists in ``producers``, ``subscribers`` or ``admins``, as the socket requires.
    """
    server_key: str
    client_key: str

    def apply(self, socket: zmq.Socket) -> None:
        """Makes ``socket`` a CURVE client with these keys (before it connects)."""
        server, _ = zmq.auth.load_certificate(self.server_key)
        public, secret = zmq.auth.load_certificate(self.client_key)
        if secret is None:
            raise ValueError(f"{self.client_key} is a public certificate; give this client's NAME.key_secret")
        socket.curve_serverkey, socket.curve_publickey, socket.curve_secretkey = server, public, secret


def open_socket(context: zmq.Context, kind: int, endpoint: str, curve: Optional[Curve], linger_ms: int = 0,
                hwm: Optional[int] = None) -> zmq.Socket:
    s = context.socket(kind)
    s.setsockopt(zmq.LINGER, linger_ms)
    if hwm is not None:
        s.setsockopt(zmq.SNDHWM if kind in (zmq.PUB, zmq.PUSH) else zmq.RCVHWM, hwm)
    if curve is not None:
        curve.apply(s)
    s.connect(endpoint)
    return s
