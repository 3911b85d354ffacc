"""The River adapters against a live daemon: progressive validation through River gives the
figures of the same samples streamed straight to the daemon in NGD1."""
import numpy as np
import pytest

river = pytest.importorskip("river")
from river import datasets, evaluate, metrics  # noqa: E402

from ngd_client import Producer  # noqa: E402
from ngd_client.river import Classifier, Regressor  # noqa: E402


def score(adapter, method, data, metric):
    """progressive_val_score of ``adapter`` on ``data``, recording what ``method`` returned."""
    seen = []
    original = getattr(adapter, method)
    setattr(adapter, method, lambda x: seen.append(original(x)) or seen[-1])
    result = evaluate.progressive_val_score(data, adapter, metric)
    adapter.close()
    return result, seen


def direct(daemon_args, daemon, xs, ys, label=False):
    """Each sample as its own labelled NGD1 message; the published (test-then-train) predictions."""
    d = daemon(*daemon_args)
    out = []
    with Producer(d.input, d.output) as p:
        for x, y in zip(xs, ys):
            i = p.send(x, label=y) if label else p.send(x, [y])
            out.append(p.result(i).y_hat[0])
    return np.array(out)


def test_progressive_val_score_equals_a_direct_ngd1_run(daemon):
    args = ("--layers", "6,16,1")
    data = list(datasets.TrumpApproval())
    d = daemon(*args)
    model = Regressor(input=d.input, output=d.output, control=d.control)
    mae, seen = score(model, "predict_one", data, metrics.MAE())
    order = sorted(data[0][0], key=str)
    assert model.feature_order == order
    xs = np.array([[x[k] for k in order] for x, _ in data])
    ys = np.array([y for _, y in data])
    reference = direct(args, daemon, xs, ys)[:, 0]
    assert np.array_equal(np.array(seen), reference)  # bit-identical predictions
    expected = metrics.MAE()
    for y, p in zip(ys, reference):
        expected.update(y, p)
    assert mae.get() == expected.get()
    # It learned: the last 500 samples are predicted far better than by the mean of y.
    assert np.mean(np.abs(ys[-500:] - reference[-500:])) < 0.5 * np.mean(np.abs(ys[-500:] - ys.mean()))


def test_classifier_learns_and_its_probabilities_are_the_daemons(daemon):
    args = ("--layers", "9,16,2", "--likelihood", "categorical")
    data = list(datasets.Phishing())
    d = daemon(*args)
    model = Classifier(input=d.input, output=d.output, control=d.control)
    accuracy, probas = score(model, "predict_proba_one", data, metrics.Accuracy())
    assert model.class_order == [data[0][1], not data[0][1]]
    order = model.feature_order
    xs = np.array([[x[k] for k in order] for x, _ in data])
    labels = [model.class_order.index(y) for _, y in data]
    reference = direct(args, daemon, xs, labels, label=True)
    for i, p in enumerate(probas):  # classes known when sample i was predicted
        assert [p[c] for c in p] == [reference[i, model.class_order.index(c)] for c in p]
    majority = max(np.mean(labels), 1 - np.mean(labels))
    assert accuracy.get() > majority + 0.2, (accuracy, majority)


def test_feature_order_missing_and_unknown_features(daemon):
    d = daemon("--layers", "3,1")
    model = Regressor(input=d.input, output=d.output, features=["c", "a", "b"])
    assert model._vector({"a": 1, "b": None}).tolist() == [0, 1, 0]
    with pytest.warns(UserWarning, match="'z'"):
        model._vector({"a": 1, "z": 5})
    with pytest.raises(ValueError, match="finite"):
        model._vector({"a": float("nan")})
    model.learn_one({"a": 1, "b": 2, "c": 3}, 1.0)
    assert isinstance(model.predict_one({"a": 1}), float)
    model.close()
    two = Classifier(input=d.input, output=d.output, n_classes=1)
    two._label("x")
    with pytest.raises(ValueError, match="class 'y' would be class 2"):
        two._label("y")
