"""Size and receptive-field analysis: the arithmetic of SPEC §2, §3 and §8, explained.

Every ``explain_*`` function returns a report whose ``.text()`` shows the working; the
numbers come from svertka's own ops and the working is checked against them.
"""

from svertka.analysis.explain import (
    ConvReport,
    PadReport,
    PoolReport,
    explain_conv,
    explain_pad,
    explain_pool,
    parse_matrix,
)
from svertka.analysis.layers import (
    FieldReport,
    ParamsReport,
    explain_params,
    explain_receptive_field,
)
from svertka.analysis.notes import NotesExample, NotesReport, notes_examples
from svertka.analysis.size import SizeReport, explain_size

__all__ = [
    "ConvReport", "FieldReport", "NotesExample", "NotesReport", "PadReport", "ParamsReport",
    "PoolReport", "SizeReport", "explain_conv", "explain_pad", "explain_params", "explain_pool",
    "explain_receptive_field", "explain_size", "notes_examples", "parse_matrix",
]
