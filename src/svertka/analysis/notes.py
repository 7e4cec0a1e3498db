"""Every worked example of the notes (SPEC), computed by svertka next to the notes' answer.

Each example names its source (seed file and lines), the notes' printed answer, svertka's
answer and whether they agree; ``text()`` shows the working too. One printed answer is wrong:
the 5x5 input with zero padding 1 and stride 2 (seed 004), where the notes print
``[[1,6,5],[7,10,9],[7,10,8]]``. That figure is Dumoulin & Visin's ``numerical_padding_strides``
animation ("A guide to convolution arithmetic for deep learning", 2016), a one-channel
convolution: its input and kernel are exactly what its generator script draws from NumPy's
seed 1234, and its printed output is a known erratum, confirmed by an author in
vdumoulin/conv_arithmetic issue #17: the correct output is ``[[1,5,6],[7,8,3],[3,10,4]]``,
which svertka and the working below both give. No other channels or bias are involved, so
the printed matrix is not a multi-channel sum of what the notes show: it is a misprint.

>>> report = notes_examples()
>>> all(e.agrees for e in report.examples if e.name != "conv-padding-1-stride-2")
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svertka.analysis.explain import explain_conv, explain_pad, explain_pool, grid
from svertka.analysis.layers import explain_params, explain_receptive_field
from svertka.analysis.size import explain_size

PADDING_STRIDE_ERRATUM = (
    "the notes' figure is Dumoulin & Visin's one-channel numerical_padding_strides animation "
    "(A guide to convolution arithmetic, 2016); its printed output is a known error of that "
    "figure (vdumoulin/conv_arithmetic issue #17, confirmed by an author): the sums of "
    "products of the input and kernel shown give the matrix computed here. Cells that differ: "
)


@dataclass(frozen=True)
class NotesExample:
    """One worked example: the notes' answer, svertka's, and the working."""

    name: str
    source: str
    notes: object
    computed: object
    working: str
    note: str = ""

    @property
    def agrees(self) -> bool:
        if isinstance(self.notes, list) and self.notes and isinstance(self.notes[0], str):
            return self.notes == self.computed
        a, b = np.asarray(self.notes, dtype=float), np.asarray(self.computed, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, atol=5e-3))

    def text(self) -> str:
        verdict = "agrees" if self.agrees else "DIFFERS"
        lines = [f"== {self.name} ({self.source}): {verdict}",
                 f"notes:   {_show(self.notes)}", f"svertka: {_show(self.computed)}"]
        if self.note:
            lines.append(f"why: {self.note}")
        lines.append(self.working)
        return "\n".join(line.rstrip() for text in lines for line in text.splitlines())


def _show(v) -> str:
    a = np.asarray(v)
    if a.ndim == 2:
        return "\n" + grid(a, "    ")
    return str(v)


@dataclass(frozen=True)
class NotesReport:
    examples: tuple[NotesExample, ...]

    def text(self) -> str:
        agree = sum(e.agrees for e in self.examples)
        body = "\n\n".join(e.text() for e in self.examples)
        return (f"{body}\n\n{agree} of {len(self.examples)} worked examples agree with the "
                f"notes; the one that does not is the notes' misprint, explained above")

    def __getitem__(self, name: str) -> NotesExample:
        for e in self.examples:
            if e.name == name:
                return e
        raise KeyError(name)


def _conv_examples() -> list[NotesExample]:
    valid = explain_conv("1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0",
                         "1 0 1; 0 1 0; 1 0 1")
    strided = explain_conv("2 2 3 3 3; 0 1 3 0 3; 2 3 0 1 3; 3 3 2 1 2; 3 3 0 2 3",
                           "2 0 1; 1 0 0; 0 1 1", strides=2, padding=1)
    printed = np.array([[1, 6, 5], [7, 10, 9], [7, 10, 8]])
    cells = ", ".join(f"[{i},{j}] {printed[i, j]} vs {int(strided.output[i, j])}"
                      for i, j in zip(*np.nonzero(printed != strided.output)))
    return [
        NotesExample("conv-valid-stride-1", "seed 000 lines 192-208 (kernel); input and answer "
                     "in its figure, SPEC §2", [[4, 3, 4], [2, 4, 3], [2, 3, 4]],
                     valid.output.astype(int).tolist(), valid.text()),
        NotesExample("conv-padding-1-stride-2", "seed 004 lines 252-264",
                     printed.tolist(), strided.output.astype(int).tolist(), strided.text(),
                     PADDING_STRIDE_ERRATUM + cells),
    ]


def _size_examples() -> list[NotesExample]:
    out = []
    for stride, notes, line in ((1, 5, 242), (2, 3, 244), (3, 2.33, 246)):
        r = explain_size(7, 3, stride=stride)
        out.append(NotesExample(f"size-7-kernel-3-stride-{stride}", f"seed 000 line {line}",
                                notes, round(r.exact, 2), r.text()))
    strided = explain_size(5, 3, stride=2, padding=1)
    out.append(NotesExample("size-5-kernel-3-padding-1-stride-2", "seed 004 lines 264, 283",
                            3, strided.output, strided.text()))
    same = explain_size(28, 3, padding="same")
    out.append(NotesExample("same-padding-keeps-28", "seed 000 line 260 (P=(F-1)/2), "
                            "seed 004 line 431", 28, same.output,
                            same.text() + f"\nP = (F-1)/2 = (3-1)/2 = {same.padding[0]} per side"))
    return out


def _pad_example() -> NotesExample:
    notes = ["00[ABC]00", "AA[ABC]CC", "BA[ABC]CB", "BC[ABC]AB", "CB[ABC]BA"]
    report = explain_pad("ABC", 2, ["zero", "border", "mirror", "cyclic", "reflect"])
    computed = [r.split()[-1] for r in report.text().splitlines()[-5:]]
    return NotesExample("padding-fills", "seed 000 lines 265-271; reflect CB[ABC]BA: SPEC §2",
                        notes, computed, report.text())


def _pool_example() -> NotesExample:
    report = explain_pool("6 6 6 6; 4 5 5 4; 2 4 4 2; 2 4 4 2")
    notes = [[[6, 6], [4, 4]], [[5.25, 5.25], [3, 3]], [[4, 4], [2, 2]], [[21, 21], [12, 12]]]
    computed = [[[int(v) if v == int(v) else v for v in row] for row in report.results[m].tolist()]
                for m in ("max", "avg", "min", "sum")]
    return NotesExample("pooling-max-avg-min-sum", "seed 004 lines 367-379 (map); answers in "
                        "its figure, SPEC §3", notes, computed, report.text())


def _model_examples() -> list[NotesExample]:
    out = []
    for c, t, notes, line in ((1, 32, 320, 431), (32, 64, 18496, 433)):
        r = explain_params(kernel=3, channels=c, filters=t)
        out.append(NotesExample(f"params-3x3-{c}-to-{t}", f"seed 002 line 15 (formula), seed "
                                f"004 line {line}", notes, r.rows[0][2], r.text()))
    r = explain_params("notes")
    counts = [row[2] for row in r.rows]
    out.append(NotesExample("params-notes-model", "seed 004 lines 431-442",
                            [320, 0, 18496, 0, 0, 401536, 1290, 421642], counts + [r.total],
                            r.text()))
    f = explain_receptive_field([3, 3, 3])
    out.append(NotesExample("receptive-field-3x3-stack", "seed 002 lines 27-30", [3, 5, 7],
                            [s[0] for s in f.sizes], f.text()))
    return out


def notes_examples() -> NotesReport:
    """Every worked example of the notes, each with the notes' answer and svertka's."""
    return NotesReport(tuple(_conv_examples() + _size_examples() + [_pad_example()]
                             + [_pool_example()] + _model_examples()))


__all__ = ["NotesExample", "NotesReport", "notes_examples"]
