"""River adapters: an ngd model as a River regressor or classifier.

    from river import datasets, evaluate, metrics
    from ngd_client.river import Regressor
    model = Regressor(model="default", input="tcp://127.0.0.1:5555", output="tcp://127.0.0.1:5556")
    evaluate.progressive_val_score(datasets.TrumpApproval(), model, metrics.MAE())

The daemon must host the model with as many inputs as there are features and, for a
regressor, one output (``likelihood = "gaussian"``); for a classifier, one output per class
(``likelihood = "categorical"``).

**Feature order.** A feature dict becomes a vector in a fixed order: ``features`` if given,
otherwise the keys of the first dict seen, sorted by ``str(key)``. The order never changes
afterwards (:attr:`feature_order`). A feature missing from a later dict, or ``None``, is sent
as 0.0; a key outside the order is ignored, with one warning naming it.

**Semantics.** ``predict_one`` sends a predict-only message and waits for its prediction;
``learn_one`` sends a labelled message and does not wait (at most ``max_in_flight`` are
unanswered). The daemon handles messages in order, so a prediction reflects every sample
learned before it, and the prediction ``predict_one`` returns is the one the daemon would have
published for the labelled message that follows it: ``progressive_val_score`` gives the same
figures as streaming the samples straight to the daemon.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Dict, Hashable, List, Optional, Sequence

import numpy as np
from river import base

from .control import Control
from .producer import Producer
from .sockets import Curve


class _Adapter:
    def _setup(self, model: str, input: str, output: str, control: Optional[str], features: Optional[Sequence[Hashable]],
               encoding: str, max_in_flight: int, timeout: float, curve: Optional[Curve]) -> None:
        self.model, self.input, self.output, self.control = model, input, output, control
        self.features, self.encoding, self.max_in_flight = features, encoding, max_in_flight
        self.timeout, self.curve = timeout, curve
        self.feature_order: Optional[List[Hashable]] = list(features) if features is not None else None
        self._index: Dict[Hashable, int] = {k: i for i, k in enumerate(self.feature_order or [])}
        self._warned: set = set()
        self._producer: Optional[Producer] = None
        self._control: Optional[Control] = None

    @property
    def producer(self) -> Producer:
        """The adapter's :class:`~ngd_client.Producer` (connected on first use)."""
        if self._producer is None:
            self._producer = Producer(self.input, self.output, self.model, encoding=self.encoding,
                                      max_in_flight=self.max_in_flight, timeout=self.timeout, curve=self.curve)
        return self._producer

    def _status(self) -> Dict[str, Any]:
        if self.control is None:
            raise ValueError("the adapter needs control=ENDPOINT (or explicit sizes) to read the model's status")
        if self._control is None:
            self._control = Control(self.control, timeout=self.timeout, curve=self.curve)
        return self._control.model(self.model)

    def _vector(self, x: Dict[Hashable, Any]) -> np.ndarray:
        if self.feature_order is None:
            self.feature_order = sorted(x, key=str)
            self._index = {k: i for i, k in enumerate(self.feature_order)}
        v = np.zeros(len(self.feature_order))
        for k, value in x.items():
            i = self._index.get(k)
            if i is None:
                if k not in self._warned:
                    self._warned.add(k)
                    warnings.warn(f"feature {k!r} is not in the adapter's feature order; it is ignored", stacklevel=3)
                continue
            if value is not None:
                f = float(value)
                if not math.isfinite(f):
                    raise ValueError(f"feature {k!r} is {value!r}; the daemon takes finite numbers only")
                v[i] = f
        return v

    def close(self) -> None:
        """Waits for the messages in flight, then closes the sockets."""
        if self._producer is not None:
            try:
                self._producer.flush()
            finally:
                self._producer.close()
                self._producer = None
        if self._control is not None:
            self._control.close()
            self._control = None


class Regressor(_Adapter, base.Regressor):
    """An ngd model (one Gaussian output) as a River regressor. See the module's doc."""

    def __init__(self, model: str = "default", input: str = "tcp://127.0.0.1:5555",
                 output: str = "tcp://127.0.0.1:5556", control: Optional[str] = None, *,
                 features: Optional[Sequence[Hashable]] = None, encoding: str = "ngd1", max_in_flight: int = 256,
                 timeout: float = 10.0, curve: Optional[Curve] = None) -> None:
        self._setup(model, input, output, control, features, encoding, max_in_flight, timeout, curve)

    def learn_one(self, x: Dict[Hashable, Any], y: float) -> None:
        self.producer.send(self._vector(x), [float(y)])

    def predict_one(self, x: Dict[Hashable, Any]) -> float:
        return float(self.producer.predict(self._vector(x))[0])


class Classifier(_Adapter, base.Classifier):
    """An ngd model (``likelihood = "categorical"``, one output per class) as a River
    classifier. See the module's doc.

    **Classes.** ``classes`` fixes the class of each output (index 0, 1, …). Without it, a
    class gets the next free index when first seen in ``learn_one``, up to ``n_classes`` (read
    from the daemon's status through ``control`` when not given); one more raises
    ``ValueError``. ``predict_proba_one`` gives the model's probability of each class seen so
    far (they sum to less than 1 while some outputs have no class yet).
    """

    def __init__(self, model: str = "default", input: str = "tcp://127.0.0.1:5555",
                 output: str = "tcp://127.0.0.1:5556", control: Optional[str] = None, *,
                 classes: Optional[Sequence[Hashable]] = None, n_classes: Optional[int] = None,
                 features: Optional[Sequence[Hashable]] = None, encoding: str = "ngd1", max_in_flight: int = 256,
                 timeout: float = 10.0, curve: Optional[Curve] = None) -> None:
        self._setup(model, input, output, control, features, encoding, max_in_flight, timeout, curve)
        self.classes, self.n_classes = classes, n_classes
        self.class_order: List[Hashable] = list(classes) if classes is not None else []
        self._class_index: Dict[Hashable, int] = {c: i for i, c in enumerate(self.class_order)}
        self._capacity = n_classes if n_classes is not None else (len(classes) if classes is not None else None)

    @property
    def _multiclass(self) -> bool:
        return True

    def _label(self, y: Hashable) -> int:
        i = self._class_index.get(y)
        if i is not None:
            return i
        if self._capacity is None:
            self._capacity = int(self._status()["layers"][-1])
        if len(self.class_order) >= self._capacity:
            raise ValueError(f"class {y!r} would be class {len(self.class_order) + 1} of a model with "
                             f"{self._capacity} outputs")
        self._class_index[y] = len(self.class_order)
        self.class_order.append(y)
        return self._class_index[y]

    def learn_one(self, x: Dict[Hashable, Any], y: Hashable) -> None:
        self.producer.send(self._vector(x), label=self._label(y))

    def predict_proba_one(self, x: Dict[Hashable, Any]) -> Dict[Hashable, float]:
        p = self.producer.predict(self._vector(x))
        return {c: float(p[i]) for i, c in enumerate(self.class_order)}

    def predict_one(self, x: Dict[Hashable, Any], **kwargs: Any) -> Optional[Hashable]:
        proba = self.predict_proba_one(x)
        return max(proba, key=proba.__getitem__) if proba else None
