from __future__ import annotations

import pytest

pytest.importorskip("torch")


@pytest.fixture
def tiny_checkpoint(tmp_path, shared_data):
    """A checkpoint trained for one epoch on 24 dev trials (seconds)."""
    from models.train import main

    out = tmp_path / "tiny"
    rc = main(["--pov-csv", str(shared_data / "pov" / "fixations_dev.csv"), "--out", str(out), "--epochs", "1",
               "--limit", "24", "--cache", str(tmp_path / "emb.npz")])
    assert rc == 0
    return out / "checkpoint.pt"
