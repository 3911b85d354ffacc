"""The README's Python quick start, unchanged, against 10 fresh daemons on the default ports:
no message lost in any of them."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from ngd_client import Control


def quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- python-quickstart.*?-->\n```python\n(.*?)```", readme, re.S)
    assert m, "README.md has no python-quickstart block"
    return m.group(1)


@pytest.mark.parametrize("start", range(10))
def test_the_readme_quick_start_loses_nothing(daemon, start):
    d = daemon("--layers", "4,16,2", "--input", "tcp://127.0.0.1:5555", "--output", "tcp://127.0.0.1:5556",
               "--control", "tcp://127.0.0.1:5557")
    run = subprocess.run([sys.executable, "-c", quickstart()], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "5001 messages sent, 5001 answered" in run.stdout, run.stdout
    assert "learned 5000 samples" in run.stdout, run.stdout
    assert Control(d.control).model()["seq"] == 5000
