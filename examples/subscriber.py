"""Print ngd's loss as the model learns.

    python3 examples/subscriber.py [output-endpoint] [stop-at-seq] [print-every]

Needs pyzmq (pip install pyzmq).
"""
import json
import sys

import zmq

endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5556"
stop_at = int(sys.argv[2]) if len(sys.argv) > 2 else None
every = int(sys.argv[3]) if len(sys.argv) > 3 else 500  # print every Nth sample's loss

sub = zmq.Context().socket(zmq.SUB)
sub.connect(endpoint)
sub.setsockopt(zmq.SUBSCRIBE, b"loss.")  # every model's loss; b"loss.default" for one
print(f"listening on {endpoint}", file=sys.stderr, flush=True)

while True:
    topic, payload = sub.recv_multipart()
    m = json.loads(payload)
    if m["seq"] % every == 0:
        print(f'{m["model"]}  seq {m["seq"]:6d}  mse {m["mse"]:.3e}  loss_ema {m["loss_ema"]:.3e}', flush=True)
    if stop_at is not None and m["seq"] >= stop_at:
        break
