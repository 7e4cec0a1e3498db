"""Plain-text tables and the JSON record of a run.

A case's result is a title and rows; a row holds one figure per library (None where the
library did not run) and, for times, the ratios svertka/rival (below 1.0: svertka is faster).
Headline rows are gathered again in one summary table at the end of a run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from libs import LIBS

RIVALS = ("torch", "keras")


@dataclass
class Row:
    label: str
    values: dict[str, float | None]
    fmt: str = "{:.2f}"
    ratio: bool = True
    headline: bool = False  # repeated in the summary table
    ratios: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self):
        if self.ratio and not self.ratios:
            ours = self.values.get("svertka")
            self.ratios = {r: _ratio(ours, self.values.get(r)) for r in RIVALS}


@dataclass
class Result:
    case: str
    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    columns: tuple[str, ...] = LIBS
    extra: dict = field(default_factory=dict)


def summary(results: list[Result]) -> Result:
    """The headline rows of every case in one table."""
    rows = [
        Row(f"{r.case}: {row.label}", row.values, row.fmt, row.ratio)
        for r in results
        for row in r.rows
        if row.headline
    ]
    return Result("summary", "svertka/rival below 1.0: svertka is faster", rows)


def _ratio(ours, theirs):
    return ours / theirs if ours is not None and theirs else None


def _cell(value, fmt: str, width: int) -> str:
    return f"{'-' if value is None else fmt.format(value):>{width}}"


def format_table(result: Result) -> str:
    """The result as a table: label, one column per library, then the ratios."""
    label_w = max(28, *(len(r.label) + 1 for r in result.rows))
    libs = result.columns
    head = f"{'':{label_w}}" + "".join(f"{lib:>10}" for lib in libs)
    head += "".join(f"{'svertka/' + r:>15}" for r in RIVALS)
    lines = [f"== {result.case}: {result.title}", head]
    for row in result.rows:
        line = f"{row.label:{label_w}}"
        line += "".join(_cell(row.values.get(lib), row.fmt, 10) for lib in libs)
        if row.ratio:
            line += "".join(_cell(row.ratios.get(r), "{:.2f}", 15) for r in RIVALS)
        lines.append(line.rstrip())
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines)


def write_json(path: str, header: str, argv: list[str], results: list[Result]) -> None:
    """Every figure of the run, with the header and the command line."""
    record = {
        "header": header.splitlines(),
        "argv": argv,
        "cases": {r.case: asdict(r) for r in results},
    }
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
