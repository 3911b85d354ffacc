"""Send (x, y) samples to ngd: a 4-input, 2-output linear teacher, as JSON.

    python3 examples/producer.py [input-endpoint] [samples]

Needs pyzmq (pip install pyzmq). Start `ngd serve --layers 4,16,2` first.
"""
import json
import random
import sys
import time

import zmq

endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555"
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
W = [[0.5, -0.3, 0.8, 0.1], [-0.2, 0.7, 0.0, -0.6]]

pub = zmq.Context().socket(zmq.PUB)
pub.connect(endpoint)
time.sleep(0.5)  # PUB/SUB: messages sent before the subscription arrives are dropped

for i in range(samples):
    x = [random.uniform(-1, 1) for _ in range(4)]
    y = [sum(w * v for w, v in zip(row, x)) for row in W]
    pub.send_multipart([b"default", json.dumps({"x": x, "y": y, "id": i}).encode()])
    time.sleep(0.0002)
pub.close(linger=2000)
