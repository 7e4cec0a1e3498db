"""2,400 seeded damaged data files (IDX, gzip, tar, tar.gz, CIFAR-10 batches): each ends in a
correct load, a faithful load of unprotected bytes, or DataFileError (see ``data_fuzz``)."""

from collections import Counter

import data_fuzz
import pytest

from svertka.datasets import sources

pytest.importorskip("PIL")
CASES = 2400
SEED = 16


def test_damaged_data_files_load_correctly_or_raise_data_file_error(tmp_path):
    pool = data_fuzz.templates(SEED, tmp_path)
    cache = sources.cache_dir("cifar10")

    def decoded():
        return len(list(cache.glob("decoded-*")))

    outcomes, findings = Counter(), []
    for i, template, case in data_fuzz.cases(SEED, CASES, pool):
        counter = decoded if template.kind == "cifar_tgz" else None
        outcome, note = data_fuzz.run_case(template, case, tmp_path / "case", counter)
        outcomes[template.kind, outcome] += 1
        if outcome in ("other", "garbage"):
            findings.append(f"case {i} {case.kind} {case.damage} of {case.target} "
                            f"({case.detail}): {outcome}: {note}")
    assert findings == []
    for kind in data_fuzz.KINDS:  # every kind met damage it caught and damage it shrugged off
        assert outcomes[kind, "error"] > CASES // len(data_fuzz.KINDS) // 3, outcomes
    assert sum(outcomes[k, "correct"] + outcomes[k, "changed"] for k in data_fuzz.KINDS) > 0
