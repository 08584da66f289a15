"""How a method or a metric compares with its authors' reference code: one record per entry,
kept beside the entry in its registry, printed by ``paretoul methods NAME`` / ``paretoul
metrics NAME`` and rendered into the fidelity table of ``paretoul/README.md`` (one source)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fidelity:
    """What the reference code does, what paretoul does, and where it differs on purpose."""

    piece: str
    """The entry as the table names it, with its reference file, e.g. ``FT (`FT.py`)``."""
    reference: str
    paretoul: str
    differences: str = "—"

    def lines(self) -> list[str]:
        """The record as ``paretoul methods NAME`` prints it."""
        return [f"Reference code ({self.piece}): {self.reference}",
                f"paretoul: {self.paretoul}", f"Deliberate differences: {self.differences}"]


def fidelity_table(records: list[Fidelity]) -> str:
    """The Markdown table of ``records`` (the one in ``paretoul/README.md``)."""
    rows = ["| baseline | the reference code | paretoul | deliberate differences |",
            "|---|---|---|---|"]
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows += [f"| {cell(r.piece)} | {cell(r.reference)} | {cell(r.paretoul)} | {cell(r.differences)} |"
             for r in records]
    return "\n".join(rows)
