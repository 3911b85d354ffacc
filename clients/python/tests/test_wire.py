"""The encoders and decoders against the layouts written out in docs/protocol.md."""
import json
import struct

import numpy as np
import pytest

from ngd_client import ProtocolError
from ngd_client.wire import Error, Loss, Prediction, Stats, decode, encode_json, encode_ngd1, rows


def test_ngd1_sample_layout_is_the_documented_one():
    x, _ = rows([[1.0, 2.0], [3.0, 4.0]])
    y, _ = rows([[5.0], [6.0]])
    payload = encode_ngd1(x, y, id=0x0102030405060708)
    expected = b"NGD1" + bytes([2, 1, 0, 0]) + struct.pack("<III", 2, 2, 1) + bytes.fromhex("0807060504030201")
    expected += struct.pack("<6d", 1, 2, 3, 4, 5, 6)
    assert payload == expected
    f32 = encode_ngd1(x, None, id=7, dtype="float32")
    assert f32[4] == 1 and f32[5] == 0 and len(f32) == 28 + 4 * 4
    assert struct.unpack("<4f", f32[28:]) == (1, 2, 3, 4)


def test_json_sample_messages():
    x, batch = rows([0.5, -1.25])
    assert not batch
    y, _ = rows([3.0])
    assert json.loads(encode_json(x, y, 9, batch)) == {"x": [0.5, -1.25], "y": [3.0], "id": 9}
    xb, batch = rows([[1, 2], [3, 4]])
    assert json.loads(encode_json(xb, None, "a", batch, label=[2, 0])) == {"x": [[1, 2], [3, 4]], "label": [2, 0], "id": "a"}
    # Round-trip precision: the shortest repr parses back to the same float64.
    v = 0.1 + 0.2
    assert json.loads(encode_json(rows([v])[0], None, None, False))["x"][0] == v


@pytest.mark.parametrize("bad, message", [
    ([], "empty"), ([[1, 2], [3]], "vector"), ([[[1]]], "dimensions"), ([1, float("nan")], "non-finite"),
    ([1, float("inf")], "non-finite"), (["a"], "numbers"),
])
def test_bad_inputs_are_refused_before_sending(bad, message):
    with pytest.raises(ValueError, match=message):
        rows(bad)


def test_ngd1_ids_and_float32_overflow_are_checked():
    x, _ = rows([1.0])
    with pytest.raises(ValueError, match="2\\*\\*64"):
        encode_ngd1(x, None, id=-1)
    with pytest.raises(ValueError, match="float32"):
        encode_ngd1(rows([1e300])[0], None, id=1, dtype="float32")


def test_ngd1_prediction_decodes_and_truncations_are_refused():
    header = b"NGD1" + bytes([2, 2, 0, 0]) + struct.pack("<IIIQ", 2, 0, 3, 42)
    payload = header + struct.pack("<6d", *range(6))
    p = decode(b"prediction.m", payload)
    assert isinstance(p, Prediction) and p.model == "m" and p.id == 42
    assert p.y_hat.tolist() == [[0, 1, 2], [3, 4, 5]]
    for cut in (0, 10, 27, len(payload) - 1):
        with pytest.raises(ProtocolError):
            decode(b"prediction.m", payload[:cut])
    with pytest.raises(ProtocolError):
        decode(b"prediction.m", payload + b"\0")
    with pytest.raises(ProtocolError):  # k = 2^32-1 claimed: a length check, not an allocation
        decode(b"prediction.m", b"NGD1" + bytes([2, 2, 0, 0]) + struct.pack("<IIIQ", 2**32 - 1, 0, 2**32 - 1, 0))


def test_json_outputs_decode():
    p = decode(b"prediction.default", b'{"model":"default","seq":4,"id":"q","y_hat":[0.5,null]}')
    assert p.seq == 4 and p.id == "q" and p.y_hat.shape == (1, 2) and np.isnan(p.y_hat[0, 1])
    p = decode(b"prediction.default", b'{"model":"default","seq":4,"id":null,"y_hat":[[1],[2]]}')
    assert p.y_hat.tolist() == [[1], [2]]
    loss = decode(b"loss.c", b'{"model":"c","seq":9,"id":null,"n":1,"mse":0.08,"loss":0.35,"loss_ema":0.52,'
                             b'"samples":9,"log_loss":0.35,"accuracy":1}')
    assert isinstance(loss, Loss) and loss.accuracy == 1 and loss.log_loss == 0.35
    s = decode(b"stats.default", b'{"model":"default","samples_per_s":1.5,"samples":3,"seq":2,"loss_ema":null,"damping":0.1}')
    assert isinstance(s, Stats) and s.loss_ema is None and s.fields["damping"] == 0.1
    e = decode(b"error.", b'{"model":null,"id":null,"reason":"unknown topic"}')
    assert isinstance(e, Error) and e.model is None and e.reason == "unknown topic"
    for topic, payload in [(b"nonsense", b"{}"), (b"loss.x", b"[1]"), (b"loss.x", b"{"), (b"loss.x", b'{"seq":1}')]:
        with pytest.raises(ProtocolError):
            decode(topic, payload)
