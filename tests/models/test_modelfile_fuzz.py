"""A seeded fuzzer over model files: every damaged file ends in a correct load or in
``ModelFileError``, never in another exception or in weights the file does not hold.

Each family of ``model_fuzz`` (bit flips and truncation, JSON mutations,
``.npy`` header mutations, zip tricks) damages each of three small files (a compiled
Sequential model with optimiser state, a functional model, a weights file) 300 ways:
3,600 cases, about 20 s. ``benchmarks/fuzz_models.py`` runs 10,000 with hang and memory
checks.
"""

import model_fuzz as fuzzing
import numpy as np
import pytest

CASES = 300


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return fuzzing.originals(tmp_path_factory.mktemp("originals"))


@pytest.mark.parametrize("original", ["sequential", "functional", "weights"])
@pytest.mark.parametrize("family", fuzzing.FAMILIES)
def test_every_damaged_file_loads_correctly_or_raises_model_file_error(
        originals, tmp_path, family, original):
    path, load = originals[original]
    data = path.read_bytes()
    seen, bad = {"loaded": 0, "ModelFileError": 0}, []
    for case in range(CASES):
        rng = np.random.default_rng([case, fuzzing.FAMILIES.index(family), len(original)])
        damaged = tmp_path / f"case{path.suffix}"
        damaged.write_bytes(fuzzing.mutate(data, rng, family))
        allow = original != "weights" and bool(rng.integers(2))
        kind, detail = fuzzing.outcome(
            damaged, (lambda p: load(p, allow_nonfinite=True)) if allow else load, allow)
        if kind in seen:
            seen[kind] += 1
        else:
            bad.append(f"case {case}: {kind}: {detail}")
    assert not bad, "\n".join(bad[:10])
    assert seen["ModelFileError"] > CASES // 2  # the mutations do damage


def test_the_fuzzer_is_seeded(originals):
    data = originals["sequential"][0].read_bytes()
    for family in fuzzing.FAMILIES:
        runs = [[fuzzing.mutate(data, np.random.default_rng(seed), family) for seed in range(8)]
                for _ in range(2)]
        assert runs[0] == runs[1]
        assert sum(one != data for one in runs[0]) >= 6
