"""The guide scripts of this folder run only through ``run.py`` (see
tests/test_keras_guides.py): pytest's ``--doctest-modules`` would otherwise import, and so
run, each of them while collecting."""

from pathlib import Path

collect_ignore = [p.name for p in Path(__file__).parent.glob("*.py")
                  if p.name not in {"run.py", "conftest.py"}]
