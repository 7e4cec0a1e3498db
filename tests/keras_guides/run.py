"""Run a Keras guide kept as a script of cells, cell by cell, and say which cell fails first.

A guide script (a file of this folder) holds a Keras guide's code cells in order, each under
a marker line ``# %% [n] <first words of the cell's heading>``; the text above the first
marker is a header (comments only) and is not run. The cells run one after another in one
namespace, as a notebook would run them, with the working directory a fresh temporary folder
(files the guide saves land there) and matplotlib on the Agg backend (plots are drawn, never
shown).

    python tests/keras_guides/run.py functional_api        # stop at the first failing cell
    python tests/keras_guides/run.py functional_api --keep-going   # every failing cell

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "demo.py").write_text("# %% [1] Setup\\nx = 2\\n# %% [2] Divide\\ny = x / 0\\n")
>>> result = run_guide(folder / "demo.py")
>>> result.cells_run, result.failures[0].cell.number, result.failures[0].cell.title
(2, 2, 'Divide')
>>> result.failures[0].error
'ZeroDivisionError: division by zero'
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARKER = re.compile(r"^# %% \[(\d+)\] ?(.*)$")
# the real data sets these machines hold; a SVERTKA_DATA already set is kept
SHARED_DATA = Path("/work/shared/data")


@dataclass
class Cell:
    """One code cell: its number and heading from the marker, its source, and the line of
    the guide script where that source starts (so tracebacks point into the script)."""

    number: int
    title: str
    source: str
    line: int


@dataclass
class Failure:
    """A cell that raised: ``error`` is ``"ExceptionType: message"``, ``traceback`` the
    traceback's text from the cell's own frame down."""

    cell: Cell
    error: str
    exception: BaseException
    traceback: str


@dataclass
class Result:
    """What running a guide gave: the number of cells that ran (the failing ones included),
    the failures in order, the seconds it took (``cell_seconds``: per cell number) and the
    namespace the cells left."""

    guide: str
    cells_run: int
    cells_total: int
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    cell_seconds: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self):
        return not self.failures

    def report(self):
        """Text that names each failing cell with its traceback, or says all cells ran."""
        head = f"{self.guide}: {self.cells_run}/{self.cells_total} cells ran in {self.seconds:.1f}s"
        slow = [f"[{n}] {s:.1f}s" for n, s in self.cell_seconds.items() if s >= 1]
        if slow:
            head += f" (slowest: {', '.join(slow)})"
        if self.ok:
            return head + ", none failed"
        parts = [head + f", {len(self.failures)} failed"]
        for f in self.failures:
            parts.append(f"--- cell [{f.cell.number}] {f.cell.title} (line {f.cell.line}): "
                         f"{f.error}\n{f.traceback}")
        return "\n".join(parts)


def guides():
    """Names of the guide scripts of this folder (every ``*.py`` but the runner and conftest)."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in {"run", "conftest"})


def parse_cells(path):
    """The cells of the guide script at ``path``, in order; raises ``ValueError`` when it has
    no marker or its cell numbers do not count up from 1."""
    path = Path(path)
    cells, lines = [], path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, start=1):
        m = MARKER.match(line)
        if m:
            cells.append(Cell(int(m.group(1)), m.group(2).strip(), "", i + 1))
        elif cells:
            cells[-1].source += line + "\n"
    if not cells:
        raise ValueError(f"parse_cells: {path} has no cell marker '# %% [n] <heading>'")
    numbers = [c.number for c in cells]
    if numbers != list(range(1, len(cells) + 1)):
        raise ValueError(f"parse_cells: the cells of {path} must be numbered 1, 2, ... in "
                         f"order, received {numbers}")
    return cells


@contextlib.contextmanager
def _guide_environment(workdir):
    """cwd ``workdir``, matplotlib Agg with ``show`` a no-op, the shared data found; the
    environment variables a guide sets (``KERAS_BACKEND``...) are undone afterwards."""
    old_cwd, old_env = os.getcwd(), dict(os.environ)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if "SVERTKA_DATA" not in os.environ and SHARED_DATA.is_dir():
        os.environ["SVERTKA_DATA"] = str(SHARED_DATA)
    show = None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        show, plt.show = plt.show, lambda *a, **k: None
    except ImportError:
        plt = None
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
        if plt is not None:
            plt.show = show
            plt.close("all")


def run_guide(path, keep_going=False, workdir=None):
    """Run the cells of the guide script at ``path`` in order, in one namespace.

    Stops at the first cell that raises unless ``keep_going`` (then later cells still run,
    and may fail only because an earlier one did). ``workdir``: the working directory the
    cells see; a fresh temporary folder, removed afterwards, when ``None``.
    """
    path = Path(path).resolve()
    cells = parse_cells(path)
    result = Result(path.stem, 0, len(cells))
    namespace = {"__name__": "__main__", "__file__": str(path)}
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="guide-"))
        stack.enter_context(_guide_environment(workdir))
        for cell in cells:
            # blank lines in front keep the script's own line numbers in tracebacks
            code = compile("\n" * (cell.line - 1) + cell.source, str(path), "exec")
            result.cells_run += 1
            began = time.perf_counter()
            try:
                exec(code, namespace)
            except Exception as e:  # any failure of the guide's code is the report
                frames = traceback.extract_tb(e.__traceback__)[1:]  # from the cell down
                text = "".join(traceback.format_list(frames))
                text += "".join(traceback.format_exception_only(type(e), e))
                error = traceback.format_exception_only(type(e), e)[-1].strip()
                result.failures.append(Failure(cell, error, e, text))
                if not keep_going:
                    break
            finally:
                result.cell_seconds[cell.number] = time.perf_counter() - began
    result.seconds = time.perf_counter() - start
    result.namespace = namespace
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("guide", nargs="*", help=f"guide names (default all): {guides()}")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every cell and report every failure, not just the first")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.guide or guides():
        result = run_guide(HERE / f"{name}.py", keep_going=args.keep_going)
        print(result.report(), flush=True)
        failed += not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
