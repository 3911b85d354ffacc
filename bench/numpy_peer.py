"""numpy peers of ngd's NGD, for `ngd bench speed --only peer`.

Two methods on the same networks as ngd's benchmarks:
  batch   the paper's batch NGD: mini-batches of M = 1000, both Fisher factors estimated on the
          batch and inverted directly by Cholesky, step ΔW_i = (η/L)(Λ̃_i + d̃I)⁻¹⟨e_i x_{i-1}ᵀ⟩(Λ_i + dI)⁻¹,
          relative damping d = √λ·tr/n, λ adapted per step (×2/3 after a step that lowered the
          batch loss, ×3/2 and the step undone otherwise).
  online  online NGD with Sherman–Morrison inverse factors as in docs/algorithm.md: EMA factors with
          cyclic identity injection, the step clipped to the sample's Gauss–Newton minimiser
          (one forward-mode pass), a trial forward pass that undoes a step raising the loss.

Problems: A, B, C (the paper's Figure 1 deep linear teachers; inputs with eigenvalues e^{-5i/n},
noise σ² = 1e-6, 10⁴ training samples cycled) and the 784-400-200-100-50-100-200-400-784 tanh
autoencoder (random images; timing only). Each instance is drawn with numpy's own generator from the
same distribution as ngd's; per-sample timing does not depend on the draw.

Prints one JSON object per line: problem, method, us_per_sample (median over timed chunks),
and for A/B/C the samples and seconds until the test mse first fell to 2× the noise floor.
Run with one BLAS thread (OPENBLAS_NUM_THREADS=1), as `ngd bench speed` does.
"""
import argparse
import json
import time

import numpy as np
from scipy.linalg import cho_factor, cho_solve

# The test mse is checked every this many samples (the batch method changes its weights only
# every M = 1000, so it is checked after every batch), as ngd's `--only target` does.
CHECK_EVERY = 200

SIZES = {
    "A": [20] * 17,
    "B": list(range(20, 101, 10)) + list(range(90, 19, -10)),
    "C": [200, 80, 34, 20, 10, 5, 2, 5, 10, 20, 34, 80, 200],
    "autoencoder": [784, 400, 200, 100, 50, 100, 200, 400, 784],
}
SIGMA2 = 1e-6


def teacher_problem(name, rng, train=10_000, test=1000):
    sizes = SIZES[name]
    n0 = sizes[0]
    q, _ = np.linalg.qr(rng.standard_normal((n0, n0)))
    scales = np.sqrt(np.exp(-5 * np.arange(n0) / n0))
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]

    def draw(m):
        x = (rng.standard_normal((m, n0)) * scales) @ q.T
        y = x
        for w in ws:
            y = y @ w.T
        noise = np.sqrt(SIGMA2) * rng.standard_normal(y.shape)
        return x, y + noise, float(np.mean(noise ** 2))

    xtr, ytr, _ = draw(train)
    xte, yte, floor = draw(test)
    return xtr, ytr, xte, yte, floor


class Net:
    def __init__(self, sizes, tanh, bias, rng):
        self.sizes, self.tanh, self.bias = sizes, tanh, bias
        b = 1 if bias else 0
        self.w = [np.concatenate([rng.standard_normal((o, i)) / np.sqrt(i), np.zeros((o, b))], axis=1)
                  for i, o in zip(sizes[:-1], sizes[1:])]
        self.L = len(self.w)

    def aug(self, x):
        return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1) if self.bias else x

    def forward(self, x, ws=None):
        ws = ws or self.w
        acts, ders = [self.aug(x)], []
        h = x
        for i, w in enumerate(ws):
            z = acts[-1] @ w.T
            if self.tanh and i < self.L - 1:
                h = np.tanh(z)
                ders.append(1 - h * h)
            else:
                h = z
                ders.append(None)
            acts.append(self.aug(h) if i < self.L - 1 else h)
        return acts, ders

    def backward(self, e_top, ders):
        es = [None] * self.L
        es[-1] = e_top
        for i in range(self.L - 2, -1, -1):
            w = self.w[i + 1][:, : self.sizes[i + 1]]
            e = es[i + 1] @ w
            es[i] = e * ders[i] if ders[i] is not None else e
        return es

    def mse(self, x, y):
        return float(np.mean((y - self.forward(x)[0][-1]) ** 2))


def batch_ngd(net, stream, rng, eta=1.0, lam=1e-2, m=1000):
    """One step per mini-batch of m samples; yields (samples learned)."""
    L = net.L
    seen = 0
    while True:
        x, y = stream(m)
        acts, ders = net.forward(x)
        out = acts[-1]
        loss0 = 0.5 * np.sum((y - out) ** 2) / SIGMA2 / m
        es = net.backward((y - out) / SIGMA2, ders)
        ys = out + np.sqrt(SIGMA2) * rng.standard_normal(out.shape)
        et = net.backward((ys - out) / SIGMA2, ders)
        new = []
        for i in range(L):
            a = acts[i]
            lam_a = a.T @ a / m
            lam_e = et[i].T @ et[i] / m
            g = es[i].T @ a / m
            sl = np.sqrt(lam)
            lam_a[np.diag_indices_from(lam_a)] += sl * np.trace(lam_a) / lam_a.shape[0]
            lam_e[np.diag_indices_from(lam_e)] += sl * np.trace(lam_e) / lam_e.shape[0]
            left = cho_solve(cho_factor(lam_e), g)
            step = cho_solve(cho_factor(lam_a), left.T).T
            new.append(net.w[i] + (eta / L) * step)
        loss1 = 0.5 * np.sum((y - net.forward(x, new)[0][-1]) ** 2) / SIGMA2 / m
        if loss1 < loss0:
            net.w = new
            lam = max(lam * 2 / 3, 1e-8)
        else:
            lam = min(lam * 1.5, 1e4)
        seen += m
        yield seen


def online_ngd(net, stream, rng, eta=0.02, eps=3e-3, lam=1e-2):
    """docs/algorithm.md's online SM-NGD, one sample at a time; yields (samples learned)."""
    L = net.L
    dims_a = [w.shape[1] for w in net.w]
    dims_e = [w.shape[0] for w in net.w]
    pa = [np.eye(n) for n in dims_a]
    pe = [np.eye(n) for n in dims_e]
    ta = [float(n) for n in dims_a]
    te = [float(n) for n in dims_e]
    cur_a = [0] * L
    cur_e = [0] * L
    warm = int(np.ceil(1 / eps))
    t = 0
    win_actual, win_pred, win_n = 0.0, 0.0, 0

    def sm(p, v, e, tr, cur, sl):
        # P ← ((1−e)C + e v vᵀ)⁻¹, then the injection e·d·n·e_c e_cᵀ
        pv = p @ v
        p = (p - np.outer(pv, pv) * (e / (1 - e)) / (1 + (e / (1 - e)) * (v @ pv))) / (1 - e)
        tr = (1 - e) * tr + e * (v @ v)
        w = e * sl * tr
        col = p[:, cur].copy()
        p = p - np.outer(col, col) * w / (1 + w * col[cur])
        return p, tr, (cur + 1) % p.shape[0]

    while True:
        x, y = stream(1)
        e_t = max(1 / (t + 2), eps) if t < warm else eps
        sl = np.sqrt(lam)
        acts, ders = net.forward(x)
        out = acts[-1]
        es = net.backward((y - out) / SIGMA2, ders)
        ys = out + np.sqrt(SIGMA2) * rng.standard_normal(out.shape)
        et = net.backward((ys - out) / SIGMA2, ders)
        for i in range(L):
            pa[i], ta[i], cur_a[i] = sm(pa[i], acts[i][0], e_t, ta[i], cur_a[i], sl)
            pe[i], te[i], cur_e[i] = sm(pe[i], et[i][0], e_t, te[i], cur_e[i], sl)
        t += 1
        if t <= warm:
            yield t
            continue
        etat = eta / (1 + 1e-4 * t)
        steps = [(etat / L) * np.outer(pe[i] @ es[i][0], pa[i] @ acts[i][0]) for i in range(L)]
        # Forward-mode pass: JΔ, then lin = ⟨g, Δ⟩ and q = ‖JΔ‖²/σ²; clip η to lin/q.
        dx = np.zeros_like(acts[0])
        for i in range(L):
            dz = acts[i] @ steps[i].T
            if i > 0:
                dz = dz + net.aug(dx)[:, :-1] @ net.w[i][:, : dx.shape[1]].T if net.bias else dz + dx @ net.w[i].T
            dx = dz * ders[i] if ders[i] is not None else dz
        lin = sum(float(np.sum(es[i].T @ acts[i] * steps[i])) for i in range(L))
        q = float(np.sum(dx ** 2)) / SIGMA2
        scale = min(1.0, lin / q) if q > 0 and lin > 0 else 1.0
        new = [net.w[i] + scale * steps[i] for i in range(L)]
        loss0 = 0.5 * float(np.sum((y - out) ** 2)) / SIGMA2
        loss1 = 0.5 * float(np.sum((y - net.forward(x, new)[0][-1]) ** 2)) / SIGMA2
        if loss1 <= loss0:
            net.w = new
            win_actual += loss0 - loss1
            win_pred += scale * lin - 0.5 * scale * scale * q
        else:
            lam = min(lam * 1.5, 1e4)
        win_n += 1
        if win_n == 100:  # Eq. 21 over a window of 100 samples
            rho = win_actual / win_pred if win_pred > 0 else 0.0
            if rho < 0.25:
                lam = min(lam * 1.5, 1e4)
            elif rho > 0.75:
                lam = max(lam * 2 / 3, 1e-8)
            win_actual, win_pred, win_n = 0.0, 0.0, 0
        yield t


def run(problem, method, samples, seed, target_budget_s):
    rng = np.random.default_rng(seed)
    tanh = problem == "autoencoder"
    sizes = SIZES[problem]
    if tanh:
        xtr = rng.integers(0, 256, (2000, 784)) / 255.0
        ytr, xte, yte, floor = xtr, xtr[:200], xtr[:200], None
    else:
        xtr, ytr, xte, yte, floor = teacher_problem(problem, rng)
    net = Net(sizes, tanh, tanh, rng)
    state = {"i": 0}

    def stream(m):
        idx = (state["i"] + np.arange(m)) % len(xtr)
        state["i"] += m
        return xtr[idx], ytr[idx]

    gen = batch_ngd(net, stream, rng) if method == "batch" else online_ngd(net, stream, rng)
    chunk = 1000 if method == "batch" else 200
    times, reached, reached_s, elapsed, seen, last_check = [], None, None, 0.0, 0, 0
    while seen < samples:
        t0 = time.perf_counter()
        start = seen
        while seen - start < chunk:
            seen = next(gen)
        dt = time.perf_counter() - t0
        elapsed += dt
        times.append(dt / (seen - start) * 1e6)
        if floor is not None and reached is None and seen - last_check >= CHECK_EVERY:
            last_check = seen
            if net.mse(xte, yte) <= 2 * floor:
                reached, reached_s = seen, elapsed
        if floor is not None and (reached is not None or elapsed > target_budget_s):
            break
        if floor is None and len(times) >= 5:
            break
    out = {"problem": problem, "method": method, "us_per_sample": float(np.median(times)), "samples": seen}
    if floor is not None:
        out.update({"floor": floor, "test_mse": net.mse(xte, yte), "samples_to_2x_floor": reached,
                    "seconds_to_2x_floor": reached_s, "seconds_run": elapsed})
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", choices=list(SIZES), default="A")
    ap.add_argument("--method", choices=["batch", "online"], default="batch")
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds before giving up on the 2x-floor target")
    a = ap.parse_args()
    run(a.problem, a.method, a.samples, a.seed, a.budget)
