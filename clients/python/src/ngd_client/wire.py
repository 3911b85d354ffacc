"""ngd's wire protocol (docs/protocol.md of the ngd repository): sample messages in JSON or NGD1
out, and the daemon's prediction, loss, stats and error messages in.

Everything here is pure: bytes in, values out. Decoders check every length before reading, so a
malformed payload raises :class:`~ngd_client.errors.ProtocolError` instead of misreading.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import MessageId, ProtocolError

#: The NGD1 header: magic, dtype, flags, reserved, k, n_x, n_y, id (little-endian, 28 bytes).
HEADER = struct.Struct("<4sBBHIIIQ")
DTYPES = {1: np.dtype("<f4"), 2: np.dtype("<f8")}
CODES = {"float32": 1, "float64": 2}
FLAG_Y = 1
FLAG_PREDICTION = 2

ArrayLike = Union[Sequence[float], Sequence[Sequence[float]], np.ndarray]


def rows(x: ArrayLike, name: str = "x") -> Tuple[np.ndarray, bool]:
    """``x`` as a C-contiguous float64 matrix of one row per sample, and whether it was a batch
    (2-D). Raises ``ValueError`` for an empty, ragged, >2-D or non-finite ``x``."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numbers, a vector or a list of vectors: {e}") from None
    if a.ndim == 0 or a.ndim > 2:
        raise ValueError(f"{name} must be a vector or a list of vectors, got {a.ndim} dimensions")
    batch = a.ndim == 2
    a = np.ascontiguousarray(a.reshape(1, -1) if not batch else a)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(a).all():
        r, c = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"non-finite value in {name} (sample {r}, index {c}); the daemon would refuse it")
    return a, batch


def encode_json(x: np.ndarray, y: Optional[np.ndarray], id: MessageId, batch: bool,
                label: Optional[Sequence[int]] = None) -> bytes:
    """A JSON sample message. ``x`` and ``y`` are matrices from :func:`rows`; ``batch`` writes
    lists of vectors, otherwise the single row as a vector. ``label`` (class indices) replaces
    ``y``."""
    def shape(m: np.ndarray) -> Any:
        return m.tolist() if batch else m[0].tolist()

    msg: Dict[str, Any] = {"x": shape(x)}
    if y is not None:
        msg["y"] = shape(y)
    if label is not None:
        msg["label"] = [int(v) for v in label] if batch else int(label[0])
    if id is not None:
        msg["id"] = id
    return json.dumps(msg, allow_nan=False, separators=(",", ":")).encode()


def encode_ngd1(x: np.ndarray, y: Optional[np.ndarray], id: int, dtype: str = "float64") -> bytes:
    """An NGD1 sample message: ``x`` (k × n_x) and optionally ``y`` (k × n_y, or k × 1 class
    indices) in ``dtype`` (``"float64"`` or ``"float32"``), with a u64 ``id``."""
    code = CODES.get(dtype)
    if code is None:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    if not (isinstance(id, int) and 0 <= id < 1 << 64):
        raise ValueError(f"an NGD1 id is an integer in 0 ... 2**64-1, got {id!r}")
    k, nx = x.shape
    ny = 0 if y is None else y.shape[1]
    if y is not None and y.shape[0] != k:
        raise ValueError(f"x has {k} samples but y has {y.shape[0]}")
    values = x if y is None else np.concatenate([x.ravel(), y.ravel()])
    with np.errstate(over="ignore"):
        body = np.ascontiguousarray(values, dtype=DTYPES[code]).tobytes()
    if code == 1 and not np.isfinite(np.frombuffer(body, dtype=DTYPES[1])).all():
        raise ValueError("a value overflows float32; send float64")
    return HEADER.pack(b"NGD1", code, FLAG_Y if y is not None else 0, 0, k, nx, ny, id) + body


@dataclass
class Prediction:
    """A ``prediction.<model>`` message: ``y_hat`` has one row per sample of the input message
    (class probabilities for a categorical model). ``seq`` is the model's count of learned
    samples after the message (JSON only; None from NGD1)."""
    model: str
    id: MessageId
    y_hat: np.ndarray
    seq: Optional[int] = None


@dataclass
class Loss:
    """A ``loss.<model>`` message (test-then-train: the loss before learning the message)."""
    model: str
    id: MessageId
    seq: int
    n: int
    mse: Optional[float]
    loss: Optional[float]
    loss_ema: Optional[float]
    samples: int
    log_loss: Optional[float] = None
    accuracy: Optional[float] = None


@dataclass
class Stats:
    """A ``stats.<model>`` message; ``fields`` holds every member, the common ones are
    attributes."""
    model: str
    seq: int
    samples: int
    samples_per_s: float
    loss_ema: Optional[float]
    fields: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Error:
    """An ``error.<model>`` (or ``error.``) message: a refused input message. ``model`` is None
    when no model could be told; ``id`` is the message's id when it could be read."""
    model: Optional[str]
    id: MessageId
    reason: str


Output = Union[Prediction, Loss, Stats, Error]


def _json(payload: bytes, what: str) -> Dict[str, Any]:
    try:
        v = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError(f"malformed {what}: {e}") from None
    if not isinstance(v, dict):
        raise ProtocolError(f"malformed {what}: not a JSON object")
    return v


def _number(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def decode_ngd1_prediction(payload: bytes, model: str) -> Prediction:
    """An NGD1 prediction payload."""
    if len(payload) < HEADER.size:
        raise ProtocolError(f"NGD1 prediction of {len(payload)} bytes is shorter than its 28-byte header")
    magic, code, flags, reserved, k, nx, ny, id = HEADER.unpack_from(payload)
    if magic != b"NGD1" or code not in DTYPES or flags != FLAG_PREDICTION or reserved or nx or k == 0:
        raise ProtocolError("bad NGD1 prediction header")
    dt = DTYPES[code]
    if len(payload) != HEADER.size + k * ny * dt.itemsize:
        raise ProtocolError(f"NGD1 prediction length mismatch: {len(payload)} bytes for k={k}, n_y={ny}")
    y = np.frombuffer(payload, dtype=dt, offset=HEADER.size).astype(np.float64).reshape(k, ny)
    return Prediction(model=model, id=id, y_hat=y)


def decode(topic: bytes, payload: bytes) -> Output:
    """Decodes one ``[topic, payload]`` message of the daemon's output."""
    kind, dot, model = topic.decode("utf-8", "replace").partition(".")
    if not dot or kind not in ("prediction", "loss", "stats", "error"):
        raise ProtocolError(f"{topic!r} is not an output topic (prediction., loss., stats. or error.)")
    if kind == "prediction":
        if payload[:4] == b"NGD1":
            return decode_ngd1_prediction(payload, model)
        m = _json(payload, "prediction message")
        y = m.get("y_hat")
        a = np.array([math.nan if v is None else v for v in y] if y and not isinstance(y[0], list)
                     else [[math.nan if v is None else v for v in r] for r in (y or [])], dtype=np.float64)
        return Prediction(model=model, id=m.get("id"), y_hat=a.reshape(1, -1) if a.ndim == 1 else a,
                          seq=m.get("seq"))
    m = _json(payload, f"{kind} message")
    try:
        if kind == "loss":
            return Loss(model=model, id=m.get("id"), seq=int(m["seq"]), n=int(m["n"]), mse=_number(m.get("mse")),
                        loss=_number(m.get("loss")), loss_ema=_number(m.get("loss_ema")),
                        samples=int(m["samples"]), log_loss=_number(m.get("log_loss")),
                        accuracy=_number(m.get("accuracy")))
        if kind == "stats":
            return Stats(model=model, seq=int(m["seq"]), samples=int(m["samples"]),
                         samples_per_s=float(m["samples_per_s"]), loss_ema=_number(m.get("loss_ema")), fields=m)
        return Error(model=m.get("model"), id=m.get("id"), reason=str(m["reason"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError(f"malformed {kind} message: {e!r}") from None
