"""Errors raised by ngd_client. Every one is an :class:`NgdError`."""
from __future__ import annotations

from typing import Union

MessageId = Union[int, str, None]


class NgdError(Exception):
    """Base class of every error this package raises."""


class Unreachable(NgdError):
    """No prediction came back to the handshake's probes in time: nothing connects the input
    endpoint to the output endpoint (is the daemon running, does the topic name one of its
    models, and do the CURVE keys match?)."""

    def __init__(self, input: str, output: str, seconds: float) -> None:
        super().__init__(
            f"no prediction came back within {seconds:g} s: nothing connects {input} to {output} "
            "(is the daemon running, is the topic a model's, and are the CURVE keys listed?)"
        )
        self.input, self.output, self.seconds = input, output, seconds


class Rejected(NgdError):
    """The daemon refused a message or a control request; ``reason`` is its explanation."""

    def __init__(self, reason: str, id: MessageId = None, what: str = "message") -> None:
        super().__init__(f"the daemon refused {what}" + (f" {id!r}" if id is not None else "") + f": {reason}")
        self.reason, self.id = reason, id


class Timeout(NgdError):
    """Nothing came back within the timeout (a control reply, or the prediction of a message)."""


class ProtocolError(NgdError):
    """A message from the daemon that does not fit the wire protocol."""

