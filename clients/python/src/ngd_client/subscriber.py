"""Reading the daemon's output: predictions, loss, stats and errors."""
from __future__ import annotations

import time
from typing import Iterable, Iterator, Optional

import zmq

from .errors import MessageId, Rejected, Timeout
from .sockets import Curve, open_socket
from .wire import Error, Output, Prediction, decode

KINDS = ("prediction", "loss", "stats", "error")


class Subscriber:
    """Subscribes to the daemon's output and decodes each message (JSON or NGD1).

    ``kinds`` picks among ``prediction``, ``loss``, ``stats`` and ``error``; ``models`` limits
    them to those models (ZeroMQ subscribes by prefix, so ``loss.a`` would also match ``loss.ab``:
    this class checks the model exactly). Errors about no model (``error.``) come with
    ``error`` whatever ``models`` says. With ``curve``, the daemon must list the key in
    ``subscribers``.

    PUB/SUB drops what is published before the subscription reaches the daemon (a few
    milliseconds after connecting); :class:`~ngd_client.Producer` handshakes for that.

    Not thread-safe: use one ``Subscriber`` per thread.
    """

    def __init__(self, output: str = "tcp://127.0.0.1:5556", *, kinds: Iterable[str] = KINDS,
                 models: Optional[Iterable[str]] = None, curve: Optional[Curve] = None,
                 context: Optional[zmq.Context] = None, hwm: int = 100_000) -> None:
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"kinds are {', '.join(KINDS)}; got {', '.join(sorted(unknown))}")
        self.models = None if models is None else frozenset(models)
        self.endpoint = output
        self._socket = open_socket(context or zmq.Context.instance(), zmq.SUB, output, curve, hwm=hwm)
        for kind in self.kinds:
            for model in ([""] if self.models is None else sorted(self.models)):
                self._socket.setsockopt(zmq.SUBSCRIBE, f"{kind}.{model}".encode())
            if kind == "error" and self.models is not None:
                self._socket.setsockopt(zmq.SUBSCRIBE, b"error.")

    def recv(self, timeout: Optional[float] = None) -> Optional[Output]:
        """The next message, waiting up to ``timeout`` seconds (None: forever); None when none
        came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not self._socket.poll(wait):
                return None
            frames = self._socket.recv_multipart()
            if len(frames) != 2:
                continue
            message = decode(frames[0], frames[1])
            if self.models is None or message.model in self.models or (isinstance(message, Error) and message.model is None):
                return message
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def __iter__(self) -> Iterator[Output]:
        while True:
            m = self.recv()
            if m is not None:
                yield m

    def wait_prediction(self, id: MessageId, timeout: float = 10.0) -> Prediction:
        """The prediction of the message whose id is ``id``; raises :class:`Rejected` when the
        daemon refused that message, :class:`Timeout` when neither came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            if m is None:
                raise Timeout(f"no prediction for id {id!r} within {timeout:g} s")
            if isinstance(m, Prediction) and m.id == id:
                return m
            if isinstance(m, Error) and m.id == id:
                raise Rejected(m.reason, id)

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
