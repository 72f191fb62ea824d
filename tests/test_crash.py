"""`rag index` killed with SIGKILL at several points: the previous index still loads and answers.

The build runs in a subprocess whose chosen step is slowed down (touching a marker file first), so
the kill lands inside that step every time rather than by luck of timing.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rag.index import current_build, load_index
from rag.service import Service
from tests.conftest import rag_env

STEPS = {
    # step: (module attribute to slow down, which call of it)
    "embedding": ("rag.embedding.Embedder.encode_many", 1),
    "writing": ("rag.index._write_json", 2),
    "before the switch": ("rag.index._point_current", 1),
}

RUNNER = textwrap.dedent("""
    import sys, time, importlib, pathlib
    target, nth, marker = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
    module_name, _, attr = target.rpartition(".")
    try:
        owner = importlib.import_module(module_name)
    except ImportError:  # Class.method
        module_name, _, cls = module_name.rpartition(".")
        owner = getattr(importlib.import_module(module_name), cls)
    real, calls = getattr(owner, attr), []
    def slowed(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            marker.write_text("in step")
            time.sleep(600)
        return real(*args, **kwargs)
    setattr(owner, attr, slowed)
    from rag.cli import main
    sys.exit(main(sys.argv[4:]))
""")


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_during_a_build_leaves_the_last_good_index(small_index, small_corpus, tmp_path, step):
    before = current_build(small_index.index_dir)
    (small_corpus / "extra.md").write_text("# Extra\n\nA third document about Suffolk's waiting lists.\n")
    marker = tmp_path / "marker"
    target, nth = STEPS[step]
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, target, str(nth), str(marker),
         "index", str(small_corpus), "--index-dir", str(small_index.index_dir), "--force", "-q"],
        env=rag_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the build never reached the step"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    assert current_build(small_index.index_dir) == before
    index = load_index(small_index.index_dir)
    assert len(index.documents) == 2  # the index from before, not the three documents being built
    result = Service(small_index).search("Who will oversee Blackpool's improvement work?", k=3)
    assert result["mode"] == "hybrid" and result["results"]

    # The next build finishes and clears what the killed one left behind.
    out = subprocess.run([sys.executable, "-m", "rag.cli", "index", str(small_corpus), "--index-dir",
                          str(small_index.index_dir), "-q"], env=rag_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len(load_index(small_index.index_dir).documents) == 3
    assert not [p for p in small_index.index_dir.iterdir() if p.name.endswith(".partial")]
