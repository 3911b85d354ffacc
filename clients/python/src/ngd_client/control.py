"""The daemon's control socket: status, predict, checkpoint, pause, resume and snapshot."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import zmq

from .errors import ProtocolError, Rejected, Timeout
from .sockets import Curve, open_socket
from .wire import ArrayLike, rows


class Control:
    """A client of the daemon's control socket (a REQ socket; one request, one reply).

    Every call waits at most ``timeout`` seconds and then raises :class:`Timeout`; the socket is
    then closed and a new one connected, so the next call works (a REQ socket that gave up
    waiting could not send again). With ``curve``, the daemon must list the key in ``admins``;
    a daemon that refuses the key never answers, so calls time out.

    Not thread-safe: use one ``Control`` per thread.
    """

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5557", *, timeout: float = 5.0,
                 curve: Optional[Curve] = None, context: Optional[zmq.Context] = None) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        self.endpoint, self.timeout, self.curve = endpoint, timeout, curve
        self._context = context or zmq.Context.instance()
        self._socket = self._connect()

    def _connect(self) -> zmq.Socket:
        return open_socket(self._context, zmq.REQ, self.endpoint, self.curve)

    def request(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """Sends one request object and returns the reply object; raises :class:`Rejected` for
        an ``{"error": …}`` reply and :class:`Timeout` when none comes in time."""
        return self._reply(request, self._exchange(request)[0])

    def _exchange(self, request: Dict[str, Any]) -> List[bytes]:
        self._socket.send(json.dumps(request, allow_nan=False).encode())
        if not self._socket.poll(int(self.timeout * 1000)):
            self._socket.close(linger=0)
            self._socket = self._connect()
            raise Timeout(f"no reply to {request.get('cmd')!r} from {self.endpoint} within {self.timeout:g} s "
                          "(is the daemon running, and is this key an admin's?)")
        return self._socket.recv_multipart()

    @staticmethod
    def _reply(request: Dict[str, Any], frame: bytes) -> Dict[str, Any]:
        try:
            reply = json.loads(frame)
        except ValueError as e:
            raise ProtocolError(f"malformed control reply: {e}") from None
        if not isinstance(reply, dict):
            raise ProtocolError("malformed control reply: not a JSON object")
        if "error" in reply:
            raise Rejected(str(reply["error"]), what=f"{request.get('cmd')!r}")
        return reply

    def status(self) -> Dict[str, Any]:
        """``{"uptime_s", "auth_failures", "models": {name: {...}}}``."""
        return self.request({"cmd": "status"})

    def model(self, name: str = "default") -> Dict[str, Any]:
        """One model's status (``layers``, ``seq``, ``loss_ema``, …); :class:`Rejected` when the
        daemon has no such model."""
        models = self.status().get("models", {})
        if name not in models:
            raise Rejected(f"no model {name!r} (models: {', '.join(sorted(models))})", what="status")
        return models[name]

    def predict(self, x: ArrayLike, model: str = "default") -> np.ndarray:
        """The model's predictions for ``x`` (a vector: one row back; a list of vectors: one row
        each), learning nothing."""
        a, _ = rows(x)
        reply = self.request({"cmd": "predict", "model": model, "x": a.tolist()})
        return np.array(reply["y_hat"], dtype=np.float64).reshape(a.shape[0], -1)

    def checkpoint(self) -> List[str]:
        """Saves every model now; returns the files written."""
        return list(self.request({"cmd": "checkpoint"}).get("paths", []))

    def pause(self, model: str = "default") -> None:
        """Stops learning on ``model`` (it still predicts and scores)."""
        self.request({"cmd": "pause", "model": model})

    def resume(self, model: str = "default") -> None:
        """Resumes learning on ``model``."""
        self.request({"cmd": "resume", "model": model})

    def snapshot(self, model: str = "default") -> Tuple[Dict[str, Any], bytes]:
        """``model``'s checkpoint file as the daemon would save it now (nothing is written on its
        side) and ``{"model", "seq", "digest", "bytes"}``. Write the file as ``NAME.ngdckpt`` in a
        replica's state directory (or use ``ngd snapshot``, which also checks it)."""
        request = {"cmd": "snapshot", "model": model}
        frames = self._exchange(request)
        reply = self._reply(request, frames[0])
        if len(frames) != 2 or len(frames[1]) != reply.get("bytes"):
            raise ProtocolError(f"malformed snapshot reply: {len(frames)} frames, "
                                f"{len(frames[-1])} bytes for {reply.get('bytes')!r}")
        return reply, frames[1]

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> "Control":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
