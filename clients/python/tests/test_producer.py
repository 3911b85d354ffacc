"""Producer, Subscriber and Control against a real daemon."""
import time

import numpy as np
import pytest
import zmq

from ngd_client.wire import encode_ngd1
from ngd_client import Control, Curve, Loss, Prediction, Producer, Rejected, Subscriber, Timeout, Unreachable


def teacher(n, seed=0, width=4, outputs=2):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(outputs, width))
    X = rng.uniform(-1, 1, size=(n, width))
    return X, X @ W.T


@pytest.mark.parametrize("start", range(10))
def test_no_message_is_lost_on_a_fresh_daemon(daemon, start):
    d = daemon("--layers", "4,8,2")
    X, Y = teacher(300, seed=start)
    with Producer(d.input, d.output) as p:
        for x, y in zip(X, Y):  # sent at once: the handshake happens inside the first send
            p.send(x, y)
    assert (p.sent, p.answered, p.refused) == (300, 300, 0)
    assert Control(d.control).model()["seq"] == 300


def test_flow_control_keeps_a_small_queue_whole(daemon):
    # receive_hwm 20: a raw PUB at full speed overruns it (libzmq drops), the producer does not.
    d = daemon("--layers", "100,8,2", "--receive-hwm", "20")
    X, Y = teacher(5000, width=100)
    control = Control(d.control)
    with Producer(d.input, d.output, max_in_flight=16) as p:
        for x, y in zip(X, Y):
            p.send(x, y)
            assert p.in_flight <= 16
    assert control.model()["seq"] == 5000
    payloads = [encode_ngd1(x.reshape(1, -1), y.reshape(1, -1), i) for i, (x, y) in enumerate(zip(X, Y))]
    raw = zmq.Context.instance().socket(zmq.PUB)
    raw.connect(d.input)
    time.sleep(0.5)
    for payload in payloads:
        raw.send_multipart([b"default", payload])
    raw.close(linger=2000)
    time.sleep(2.0)
    assert control.model()["seq"] < 10000, "the raw PUB lost nothing: the test no longer shows flow control"


@pytest.mark.parametrize("encoding, dtype", [("ngd1", "float64"), ("ngd1", "float32"), ("json", "float64")])
def test_predictions_match_the_control_socket(daemon, encoding, dtype):
    d = daemon("--layers", "4,8,2")
    X, Y = teacher(500)
    control = Control(d.control)
    with Producer(d.input, d.output, encoding=encoding, dtype=dtype) as p:
        for i in range(0, 500, 50):
            p.send(X[i:i + 50], Y[i:i + 50])  # batches
        probe = X[:3]
        if dtype == "float32":
            probe = probe.astype(np.float32).astype(np.float64)
        got = p.predict(probe)
        assert got.shape == (3, 2)
        def expected(rows):  # NGD1 predictions come back in the request's dtype
            y = control.predict(rows)
            return y.astype(np.float32).astype(np.float64) if dtype == "float32" else y
        assert np.array_equal(got, expected(probe))
        one = p.predict(probe[0])  # a single sample takes another kernel: equal to the last bits or so
        assert one.shape == (2,) and np.array_equal(one, expected(probe[0])[0])
        assert np.allclose(one, got[0], rtol=1e-6 if dtype == "float32" else 1e-12, atol=0)
    assert control.model()["seq"] == 500  # predict-only messages learn nothing


def test_ids_results_and_a_refused_message(daemon):
    d = daemon("--layers", "4,8,2")
    with Producer(d.input, d.output, encoding="json") as p:
        good = p.send([0.1, 0.2, 0.3, 0.4], [1, 2], id="mine")
        bad = p.send([0.1, 0.2, 0.3, 0.4], [1, 2, 3])  # wrong y width: refused by the daemon
        assert isinstance(p.result(good), Prediction)
        with pytest.raises(Rejected, match="y has 3 values"):
            p.result(bad)
        assert p.in_flight == 0 and p.refused == 1


def test_a_wrong_width_fails_the_handshake_with_the_daemons_reason(daemon):
    d = daemon("--layers", "4,8,2")
    with pytest.raises(Rejected, match="expects 4"):
        Producer(d.input, d.output).send([1.0, 2.0, 3.0], [1, 2])


def test_an_unknown_model_and_no_daemon_are_reported():
    with pytest.raises(Unreachable, match="nothing connects"):
        Producer("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", timeout=0.5).send([1.0], [1.0])


def test_control_times_out_and_recovers(daemon):
    silent = Control("tcp://127.0.0.1:9", timeout=0.3)
    for _ in range(2):  # the socket is reset after a timeout, so the second call times out too
        with pytest.raises(Timeout):
            silent.status()
    d = daemon("--layers", "4,8,2")
    c = Control(d.control)
    assert c.status()["models"]["default"]["layers"] == [4, 8, 2]
    with pytest.raises(Rejected, match="no model"):
        c.model("nope")
    c.pause()
    with Producer(d.input, d.output) as p:
        p.send([0, 0, 0, 1.0], [1, 1])
    assert c.model()["seq"] == 0 and c.model()["paused"]
    c.resume()
    assert c.checkpoint() and not c.model()["paused"]


def test_subscriber_reads_loss_and_waits_for_a_prediction(daemon):
    d = daemon("--layers", "4,8,2")
    sub = Subscriber(d.output, kinds=["loss", "prediction"], models=["default"])
    X, Y = teacher(200)
    with Producer(d.input, d.output) as p:
        ids = [p.send(x, y) for x, y in zip(X, Y)]
    losses = []
    while len(losses) < 200:
        m = sub.recv(timeout=5)
        assert m is not None, f"{len(losses)} loss messages"
        if isinstance(m, Loss):
            losses.append(m)
    assert [m.id for m in losses] == ids and losses[-1].seq == 200
    with Producer(d.input, d.output) as p:
        i = p.send(X[0])
        assert np.array_equal(sub.wait_prediction(i).y_hat, p.result(i).y_hat)


def test_curve_keys(daemon, tmp_path):
    import subprocess
    from conftest import ngd_binary
    for name, where in [("daemon", "server"), ("client", "clients"), ("other", "others")]:
        (tmp_path / where).mkdir()
        subprocess.check_call([ngd_binary(), "keygen", name, "--dir", str(tmp_path / where)], stdout=subprocess.DEVNULL)
    d = daemon("--layers", "4,8,2", "--curve-server-key", str(tmp_path / "server/daemon.key_secret"),
               *[a for f in ("producers", "subscribers", "admins") for a in (f"--curve-{f}", str(tmp_path / "clients"))])
    good = Curve(str(tmp_path / "server/daemon.key"), str(tmp_path / "clients/client.key_secret"))
    other = Curve(str(tmp_path / "server/daemon.key"), str(tmp_path / "others/other.key_secret"))
    with Producer(d.input, d.output, curve=good) as p:
        p.send([1.0, 0, 0, 0], [1, 1])
    assert Control(d.control, curve=good).model()["seq"] == 1
    for curve in (other, None):
        with pytest.raises(Unreachable):
            Producer(d.input, d.output, curve=curve, timeout=1).send([1.0, 0, 0, 0], [1, 1])
        with pytest.raises(Timeout):
            Control(d.control, curve=curve, timeout=0.5).status()
    with pytest.raises(ValueError, match="key_secret"):
        Producer(d.input, d.output, curve=Curve(good.server_key, str(tmp_path / "clients/client.key")))


def test_a_push_producer_with_no_daemon_gives_up(daemon):
    # Nothing listens: a PUSH has no peer to queue for, so the handshake cannot even send.
    with pytest.raises(Unreachable):
        Producer("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", pattern="push", timeout=0.5).send([1.0], [1.0])


def test_a_snapshot_starts_a_replica_with_the_same_state(daemon, tmp_path):
    """Control.snapshot: the file a second daemon starts from, with the first one's digest."""
    a = daemon("--layers", "4,8,2")
    rng = np.random.default_rng(2)
    with Producer(a.input, a.output) as p:
        for _ in range(200):
            x = rng.normal(size=4)
            p.send(x, [x[0], -x[1]])
        p.predict(np.zeros(4))
    c = Control(a.control)
    info, data = c.snapshot()
    assert data.startswith(b"NGDCKPT\n") and len(data) == info["bytes"]
    assert info["seq"] == 200 and info["digest"] == c.model()["digest"]
    with pytest.raises(Rejected, match="unknown model 'nope'"):
        c.snapshot("nope")
    assert c.model()["seq"] == 200  # the socket still works after the refusal
    state = tmp_path / "replica"
    state.mkdir()
    (state / "default.ngdckpt").write_bytes(data)
    b = daemon("--layers", "4,8,2", "--state-dir", str(state))
    replica = Control(b.control).model()
    assert replica["seq"] == 200 and replica["digest"] == info["digest"]
