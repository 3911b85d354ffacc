"""The daemon's Prometheus endpoint (`--metrics`), read with prometheus_client's own parser and
compared with what the control socket and the test's own counts say."""
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest

parser = pytest.importorskip("prometheus_client.parser")

from ngd_client import Control, Producer  # noqa: E402


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples = {}
    types = {}
    for family in parser.text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def raw(url, request: bytes, read=True):
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(request)
        if not read:
            return b""
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_metrics_parse_and_match_the_daemon(daemon):
    start = time.time()
    d = daemon("--layers", "4,8,2", "--metrics", "127.0.0.1:*")
    rng = np.random.default_rng(0)
    with Producer(d.input, d.output) as p:
        for _ in range(300):
            x = rng.normal(size=4)
            p.send(x, [x[0], -x[1]])
        p.predict(np.zeros(4))
    c = Control(d.control)
    c.checkpoint()
    # Refused messages, one of each class.
    import zmq
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.connect(d.input)
    time.sleep(0.5)
    pub.send_multipart([b"default", b"not json"])                       # decode
    pub.send_multipart([b"default", json.dumps({"x": [1, 2]}).encode()])  # input (width)
    pub.send_multipart([b"nobody", json.dumps({"x": [1, 2, 3, 4]}).encode()])  # topic
    pub.send_multipart([b"default", b"{}", b"extra"])                   # frames
    pub.close(linger=1000)
    time.sleep(0.5)
    status = c.model()

    samples, types = scrape(d.metrics)
    m = {"model": "default"}
    assert value(samples, "ngd_samples_learned_total", **m) == status["seq"] == 300
    assert value(samples, "ngd_messages_total", outcome="learned", **m) == 300
    assert value(samples, "ngd_messages_total", outcome="predicted", **m) >= 2  # the probe(s) and predict()
    for reason in ("decode", "input", "frames"):
        assert value(samples, "ngd_messages_rejected_total", reason=reason, **m) == 1, reason
    assert value(samples, "ngd_messages_rejected_total", model="", reason="topic") == 1
    assert value(samples, "ngd_loss_ema", **m) == pytest.approx(status["loss_ema"], rel=0, abs=0)
    assert value(samples, "ngd_damping", **m) == status["damping"]
    assert value(samples, "ngd_steps_rejected_total", **m) == status["rejected_steps"]
    assert 0 <= value(samples, "ngd_checkpoint_age_seconds", **m) < 10
    assert value(samples, "ngd_checkpoint_failures_total", **m) == 0
    assert value(samples, "ngd_auth_failures_total") == 0
    pivot = value(samples, "ngd_min_pivot_ratio", **m)
    assert pivot >= 1 - 1e-6  # healthy factors: S/a ≥ 1 in exact arithmetic
    assert value(samples, "ngd_factor_refreshes_total", **m) >= 0
    info = [k for k in samples if k[0] == "ngd_build_info"]
    assert len(info) == 1 and dict(info[0][1])["version"] and samples[info[0]] == 1
    assert start - 5 <= value(samples, "process_start_time_seconds") <= time.time()
    assert types["ngd_serve_loop_turn_seconds"] == "histogram"
    assert value(samples, "ngd_serve_loop_turn_seconds_count") > 0
    assert types["ngd_samples_learned"] == "counter"  # prometheus_client strips _total from a counter family
    # The pivot is "since the previous scrape": nothing learned since, so it is NaN now.
    again, _ = scrape(d.metrics)
    assert np.isnan(value(again, "ngd_min_pivot_ratio", **m))


def test_http_errors_and_a_slow_client_cost_nothing(daemon):
    d = daemon("--layers", "4,8,2", "--metrics", "127.0.0.1:*")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(d.metrics.replace("/metrics", "/nope"), timeout=5)
    assert e.value.code == 404
    assert raw(d.metrics, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert raw(d.metrics, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(d.metrics, b"GET /metrics HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505")
    assert raw(d.metrics, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 10000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    head = raw(d.metrics, b"HEAD /metrics HTTP/1.0\n\n")
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
    # 100 connections that never finish their request: the daemon keeps answering.
    u = urlparse(d.metrics)
    idle = [socket.create_connection((u.hostname, u.port), timeout=5) for _ in range(100)]
    for s in idle:
        s.sendall(b"GET /metr")
    assert Control(d.control).model()["seq"] == 0
    samples, _ = scrape(d.metrics)
    assert value(samples, "ngd_samples_learned_total", model="default") == 0
    for s in idle:
        s.close()


def test_no_metrics_unless_asked(daemon):
    d = daemon("--layers", "4,8,2")
    assert d.metrics is None


def test_the_deploy_dashboard_and_scrape_config_name_real_metrics(daemon, proxy):
    from conftest import ROOT
    import re
    d = daemon("--layers", "4,8,2", "--metrics", "127.0.0.1:*")
    with urllib.request.urlopen(d.metrics, timeout=5) as r:
        exposed = {f.name for f in parser.text_string_to_metric_families(r.read().decode())}
    # The proxy's panels query the proxy's own endpoint.
    with urllib.request.urlopen(proxy("--metrics", "127.0.0.1:*").metrics, timeout=5) as r:
        exposed |= {f.name for f in parser.text_string_to_metric_families(r.read().decode())}
    # Counter families lose _total in prometheus_client; histograms expose _bucket/_sum/_count.
    names = exposed | {n + "_total" for n in exposed} | {n + s for n in exposed for s in ("_bucket", "_sum", "_count")}
    dash = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(?:ngd_\w+|process_start_time_seconds)\b", e)}
    assert used and used <= names, used - names
    scrape_config = (ROOT / "deploy" / "prometheus.yml").read_text()
    port = re.search(r'^metrics = "127\.0\.0\.1:(\d+)"', (ROOT / "deploy" / "ngd.toml").read_text(), re.M).group(1)
    assert f'"127.0.0.1:{port}"' in scrape_config and "metrics_path: /metrics" in scrape_config
    unit = (ROOT / "deploy" / "ngd-proxy.service").read_text()
    proxy_port = re.search(r"--metrics 127\.0\.0\.1:(\d+)", unit).group(1)
    assert f'"127.0.0.1:{proxy_port}"' in scrape_config and "job_name: ngd-proxy" in scrape_config


def test_proxy_metrics_count_every_message_the_daemon_counts(daemon, proxy):
    """`ngd proxy --metrics`: libzmq's counters of both devices, checked against the daemon
    behind it (its own message counts) and against the proxy's STATISTICS reply."""
    import zmq

    px = proxy("--metrics", "127.0.0.1:*")
    ep = dict(px.endpoints, metrics=px.metrics)
    assert px.metrics.startswith("http://") and px.metrics.endswith("/metrics")
    d = daemon(
        "--layers", "4,8,2", "--metrics", "127.0.0.1:*", "--input", ep["to-daemons"], "--input-mode", "connect",
        "--subscribe", "models", "--output", ep["from-daemons"], "--output-mode", "connect")
    rng = np.random.default_rng(1)
    with Producer(ep["input"], ep["output"]) as p:
        for _ in range(250):
            x = rng.normal(size=4)
            p.send(x, [x[0], -x[1]])
        p.predict(np.zeros(4))
    time.sleep(0.3)
    ours, _ = scrape(ep["metrics"])
    theirs, _ = scrape(d.metrics)

    def proxied(side, sock, direction, family="ngd_proxy_messages_total"):
        return value(ours, family, side=side, socket=sock, direction=direction)

    accepted = sum(value(theirs, "ngd_messages_total", model="default", outcome=o)
                   for o in ("learned", "predicted", "paused"))
    assert value(theirs, "ngd_messages_total", model="default", outcome="learned") == 250
    # A multipart message counts once; one daemon, so everything received is sent on.
    assert proxied("input", "frontend", "in") == proxied("input", "backend", "out") == accepted
    # Bytes count every frame: at least the topic and six float64 per labelled message.
    assert proxied("input", "frontend", "in", "ngd_proxy_bytes_total") >= 250 * (len("default") + 6 * 8)
    # The only subscriber reads predictions: the subscription travels up through the proxy, so
    # the daemon publishes nothing else to it (no loss messages), one prediction per message.
    assert proxied("output", "frontend", "in") == proxied("output", "backend", "out") == accepted
    assert value(ours, "ngd_proxy_auth_failures_total") == 0
    ctl = zmq.Context.instance().socket(zmq.REQ)
    ctl.setsockopt(zmq.RCVTIMEO, 5000)
    ctl.setsockopt(zmq.LINGER, 0)
    ctl.connect(ep["control"])
    ctl.send(b"STATISTICS")
    stats = json.loads(ctl.recv())
    ctl.close()
    again, _ = scrape(ep["metrics"])
    for side in ("input", "output"):
        for sock in ("frontend", "backend"):
            for direction in ("in", "out"):
                got = value(again, "ngd_proxy_messages_total", side=side, socket=sock, direction=direction)
                assert got == stats[side][f"{sock}_messages_{direction}"], (side, sock, direction)
