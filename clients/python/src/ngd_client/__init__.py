"""Python client for ngd, the online natural-gradient learning daemon.

- :class:`Producer` feeds a model (JSON or NGD1, numpy in) without losing its first messages,
  with flow control counted by the predictions that come back.
- :class:`Subscriber` reads predictions, loss, stats and errors, decoded.
- :class:`Control` asks for status, predictions, checkpoints, pause and resume, with a timeout
  on every call.
- :class:`Curve` holds the certificate paths for a daemon with ``[daemon.curve]``.
- :mod:`ngd_client.river` adapts a model to River's ``learn_one``/``predict_one``.
"""
from .control import Control
from .errors import NgdError, ProtocolError, Rejected, Timeout, Unreachable
from .producer import Producer
from .sockets import Curve
from .subscriber import Subscriber
from .wire import Error, Loss, Prediction, Stats

__all__ = ["Control", "Curve", "Error", "Loss", "NgdError", "Prediction", "Producer", "ProtocolError", "Rejected",
           "Stats", "Subscriber", "Timeout", "Unreachable"]
__version__ = "1.0.0"
