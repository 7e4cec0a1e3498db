"""``mpiexec -n 2 svertka train``: the command joins the ranks itself; rank 0 alone prints
the summary and saves the model."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
Image = pytest.importorskip("PIL.Image")
_here = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_here) if _here.exists() else shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)


def test_mpiexec_svertka_train_trains_once_and_saves_once(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in ("a", "b"):
            folder = tmp_path / "data" / split / label
            folder.mkdir(parents=True)
            for i in range(6):
                pixels = rng.integers(0, 255, (28, 28), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MV2_"))}
    env["SVERTKA_THREADS"] = "1"
    out = tmp_path / "model.svk"
    result = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "svertka", "train", "notes",
         str(tmp_path / "data"), "--epochs", "1", "--batch-size", "3", "--grayscale",
         "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.is_file()
    assert result.stdout.count("Model saved to") == 1
    assert result.stdout.count("Total params") == 1
