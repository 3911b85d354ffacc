"""Feeding the daemon without losing messages."""
from __future__ import annotations

import json
import random
import time
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Union

import numpy as np
import zmq

from .errors import MessageId, Rejected, Timeout, Unreachable
from .sockets import Curve, open_socket
from .wire import ArrayLike, Error, Prediction, decode, encode_json, encode_ngd1, rows

Result = Union[Prediction, Rejected]


class Producer:
    """Sends samples to one model of a daemon and reads back their predictions.

    - **No lost first messages.** PUB/SUB drops what is sent before the daemon's subscription
      arrives. Before its first message a producer sends predict-only probes (x = 0, JSON, ids
      ``"probe-…"``) until one's prediction comes back on ``output``: from then on both
      directions are connected. A probe refused by the daemon (a wrong input width, an unknown
      topic) raises :class:`Rejected` with the daemon's reason at once; no answer within
      ``timeout`` raises :class:`Unreachable`.
    - **Flow control.** Every message the daemon accepts gets exactly one prediction (and every
      message it refuses one error). At most ``max_in_flight`` messages wait for theirs;
      :meth:`send` blocks beyond that, so a fast producer cannot overrun the daemon's queue
      (its ``receive_hwm``, 1000 by default, must be larger). :meth:`send` raises
      :class:`Timeout` when nothing came back for ``timeout`` seconds while it waited.
    - **Encodings.** ``"ngd1"`` (binary, ``dtype`` float64 or float32; the default) or
      ``"json"``. Inputs are numpy arrays or sequences: a vector is one sample, a matrix a
      batch of one sample per row.

    Ids are integers unique to this producer (a random 20-bit session number, then a counter),
    below 2**53 so that JSON carries them exactly. Predictions and refusals are kept by id (the
    last ``keep``) for :meth:`result`.

    ``pattern`` is ``"pub"`` for the daemon's default SUB input, ``"push"`` for
    ``input_pattern = "pull"``. With ``curve``, the daemon must list the key in ``producers``,
    and ``output_curve`` (default: the same) in ``subscribers``.

    Not thread-safe: use one ``Producer`` per thread.
    """

    def __init__(self, input: str = "tcp://127.0.0.1:5555", output: str = "tcp://127.0.0.1:5556",
                 model: str = "default", *, topic: Optional[str] = None, pattern: str = "pub",
                 encoding: str = "ngd1", dtype: str = "float64", max_in_flight: int = 256, timeout: float = 10.0,
                 keep: int = 10_000, curve: Optional[Curve] = None, output_curve: Optional[Curve] = None,
                 context: Optional[zmq.Context] = None) -> None:
        if pattern not in ("pub", "push"):
            raise ValueError(f"pattern must be 'pub' or 'push', got {pattern!r}")
        if encoding not in ("ngd1", "json"):
            raise ValueError(f"encoding must be 'ngd1' or 'json', got {encoding!r}")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        if not 1 <= max_in_flight <= 100_000:
            raise ValueError("max_in_flight must be in 1 ... 100000")
        if not timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        self.input, self.output, self.model = input, output, model
        self.topic = (topic if topic is not None else model).encode()
        self.encoding, self.dtype = encoding, dtype
        self.max_in_flight, self.timeout, self.keep = max_in_flight, timeout, max(0, keep)
        context = context or zmq.Context.instance()
        self._sub = open_socket(context, zmq.SUB, output, output_curve or curve, hwm=0)
        for prefix in (f"prediction.{model}", f"error.{model}", "error."):
            self._sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._pub = open_socket(context, zmq.PUB if pattern == "pub" else zmq.PUSH, input, curve,
                                linger_ms=2000, hwm=0)
        # A PUSH waits while no daemon has accepted it (down, or refusing the CURVE key): bounded.
        self._pub.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        self._session = random.SystemRandom().getrandbits(20) << 32
        self._counter = 0
        self._in_flight: Dict[MessageId, int] = {}
        self._results: "OrderedDict[MessageId, Result]" = OrderedDict()
        self._connected = False
        self._probe_width = 0
        #: Messages and samples sent, predictions received, messages refused.
        self.sent = self.samples_sent = self.answered = self.refused = 0

    # The handshake.

    def connect(self, width: int) -> None:
        """Handshakes with the daemon (see the class) using probes of ``width`` inputs. Called
        by the first :meth:`send`; call it yourself to fail early."""
        if self._connected:
            return
        deadline = time.monotonic() + self.timeout
        probe = 0
        while time.monotonic() < deadline:
            probe += 1
            pid = f"probe-{self._session >> 32}-{probe}"
            try:
                self._pub.send_multipart([self.topic, json.dumps({"x": [0.0] * width, "id": pid}).encode()])
            except zmq.Again:
                break
            until = min(deadline, time.monotonic() + 0.05)
            while time.monotonic() < until:
                if not self._sub.poll(10):
                    continue
                m = self._decode(self._sub.recv_multipart())
                if isinstance(m, Error) and isinstance(m.id, str) and m.id.startswith("probe-"):
                    raise Rejected(m.reason, m.id, what="the handshake's probe")
                if isinstance(m, Prediction) and m.id == pid:
                    time.sleep(0.05)  # let the other probes' predictions arrive, then drop them
                    while self._sub.poll(0):
                        self._sub.recv_multipart()
                    self._connected = True
                    return
        raise Unreachable(self.input, self.output, self.timeout)

    # Sending.

    def send(self, x: ArrayLike, y: Optional[ArrayLike] = None, *, label: Union[int, Sequence[int], None] = None,
             id: MessageId = None) -> MessageId:
        """Sends one message: ``x`` a vector (one sample) or a matrix (a batch, one row per
        sample); ``y`` the same shape for a Gaussian model, or ``label`` (a class index, or one
        per row) for a categorical one; neither for a predict-only message. Returns the
        message's id (``id`` if given: an int for NGD1, an int or a str for JSON). Blocks while
        ``max_in_flight`` messages wait for their predictions."""
        xs, batch = rows(x)
        ys = None
        labels: Optional[Sequence[int]] = None
        if y is not None and label is not None:
            raise ValueError("give y or label, not both")
        if y is not None:
            ys, ybatch = rows(y, "y")
            if ys.shape[0] != xs.shape[0] or (ybatch != batch and xs.shape[0] > 1):
                raise ValueError(f"x has {xs.shape[0]} samples but y has {ys.shape[0]}")
        if label is not None:
            labels = [int(v) for v in np.atleast_1d(np.asarray(label)).ravel()]
            if len(labels) != xs.shape[0]:
                raise ValueError(f"x has {xs.shape[0]} samples but label has {len(labels)}")
        if id is None:
            self._counter += 1
            id = self._session | self._counter
        if self.encoding == "ngd1":
            if not isinstance(id, int):
                raise ValueError("an NGD1 message's id is an integer; use encoding='json' for string ids")
            if labels is not None:
                ys = np.asarray(labels, dtype=np.float64).reshape(-1, 1)
            payload = encode_ngd1(xs, ys, id, self.dtype)
        else:
            payload = encode_json(xs, ys, id, batch, labels)
        self.connect(xs.shape[1])
        self._pump(0)
        waited_since = time.monotonic()
        while len(self._in_flight) >= self.max_in_flight:
            before = self.answered + self.refused
            self._pump(0.1)
            if self.answered + self.refused != before:
                waited_since = time.monotonic()
            elif time.monotonic() - waited_since > self.timeout:
                raise Timeout(f"{len(self._in_flight)} messages unanswered for {self.timeout:g} s "
                              "(did the daemon stop, or drop them at its receive_hwm?)")
        try:
            self._pub.send_multipart([self.topic, payload])
        except zmq.Again:
            raise Timeout(f"could not send to {self.input} within {self.timeout:g} s: no daemon took the message "
                          "(is it running, and is this CURVE key in its producers directory?)") from None
        self._in_flight[id] = self._in_flight.get(id, 0) + 1
        self.sent += 1
        self.samples_sent += xs.shape[0]
        return id

    def predict(self, x: ArrayLike) -> np.ndarray:
        """The model's prediction for ``x`` (a vector: a vector back; a matrix: one row per
        sample), through the input socket, after every message sent before; learns nothing."""
        _, batch = rows(x)
        p = self.result(self.send(x))
        return p.y_hat if batch else p.y_hat[0]

    # Results.

    @property
    def in_flight(self) -> int:
        """Messages sent whose prediction (or refusal) has not come back yet."""
        return sum(self._in_flight.values())

    def result(self, id: MessageId, timeout: Optional[float] = None) -> Prediction:
        """The prediction of the message ``id``, waiting up to ``timeout`` seconds (default: the
        producer's); raises :class:`Rejected` when the daemon refused it and :class:`Timeout`
        when it has not come. A result is returned once."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while id not in self._results:
            if id not in self._in_flight:
                raise KeyError(f"no message {id!r} in flight (its result was taken, or dropped beyond keep)")
            if time.monotonic() >= deadline:
                raise Timeout(f"no prediction for message {id!r} within {timeout or self.timeout:g} s")
            self._pump(0.05)
        r = self._results.pop(id)
        if isinstance(r, Rejected):
            raise r
        return r

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every message sent has its prediction or refusal; raises :class:`Timeout`
        naming how many are missing."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self._in_flight:
            if time.monotonic() >= deadline:
                raise Timeout(f"{self.in_flight} of {self.sent} messages have no prediction after "
                              f"{timeout or self.timeout:g} s")
            self._pump(0.05)

    def _decode(self, frames: list):
        if len(frames) != 2:
            return None
        m = decode(frames[0], frames[1])
        if isinstance(m, Prediction) and m.model != self.model:
            return None  # another model whose name starts with ours
        if isinstance(m, Error) and m.model not in (None, self.model):
            return None
        return m

    def _pump(self, timeout: float) -> None:
        wait = int(timeout * 1000)
        while self._sub.poll(wait):
            wait = 0
            m = self._decode(self._sub.recv_multipart())
            if not isinstance(m, (Prediction, Error)) or m.id not in self._in_flight:
                continue
            n = self._in_flight[m.id] - 1
            if n:
                self._in_flight[m.id] = n
            else:
                del self._in_flight[m.id]
            if isinstance(m, Prediction):
                self.answered += 1
                self._keep(m.id, m)
            else:
                self.refused += 1
                self._keep(m.id, Rejected(m.reason, m.id))

    def _keep(self, id: MessageId, r: Result) -> None:
        if self.keep == 0:
            return
        self._results[id] = r
        while len(self._results) > self.keep:
            self._results.popitem(last=False)

    def close(self) -> None:
        """Closes the sockets (queued messages get 2 s to leave)."""
        self._pub.close()
        self._sub.close(linger=0)

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()
