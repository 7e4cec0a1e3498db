"""Size and receptive-field analysis: the arithmetic of SPEC §2, §3 and §8, explained."""

from svertka.analysis.size import SizeReport, explain_size

__all__ = ["SizeReport", "explain_size"]
