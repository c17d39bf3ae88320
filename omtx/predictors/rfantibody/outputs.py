"""RFantibody outputs: Quiver files, RF2's scores in their three spellings, and the failures the
tools report (or do not). Pure functions, stdlib only.

Formats at the pinned commit:
- Quiver (`src/rfantibody/util/quiver.py::Quiver.add_pdb`): per entry `QV_TAG <tag>`, optionally
  `QV_SCORE <tag> k1=v1|k2=v2|...`, the PDB lines, then one empty line.
- RF2 scores (`src/rfantibody/rf2/modules/model_runner.py`): `interaction_pae`, `pae`,
  `pred_lddt` (0–1), then, when the input had coordinates, `target_aligned_{antibody,cdr}_rmsd`,
  `framework_aligned_{antibody,cdr}_rmsd` and `framework_aligned_{H1..L3}_rmsd` — all six loops,
  `nan` for loops the antibody lacks. Values are written `{v:.2f}`: in `QV_SCORE` for Quiver
  output, as `SCORE key: value` lines after the CDR remarks for PDB output.
- `qvscorefile x.qv` (`src/rfantibody/cli/quiver.py`) writes `x.sc`: tab-separated, the score
  columns then `tag`, missing values `NaN`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

RF2_CONFIDENCE_KEYS = ("interaction_pae", "pae", "pred_lddt")
RF2_RMSD_KEYS = (
    "target_aligned_antibody_rmsd",
    "target_aligned_cdr_rmsd",
    "framework_aligned_antibody_rmsd",
    "framework_aligned_cdr_rmsd",
    *(f"framework_aligned_{loop}_rmsd" for loop in ("H1", "H2", "H3", "L1", "L2", "L3")),
)
RF2_KEYS = RF2_CONFIDENCE_KEYS + RF2_RMSD_KEYS
# RFdiffusion's own QV_SCORE (scripts/rfdiffusion_inference.py): hotspot-to-designed-loop Cβ distances.
RFDIFFUSION_KEYS = ("mindist", "averagemin")

Scores = dict[str, float | None]


class OutputProblem(ValueError):
    """A tool's output that cannot be read as the tool writes it."""


@dataclass(frozen=True)
class QuiverEntry:
    tag: str
    scores: Scores = field(default_factory=dict)
    # the PDB lines as `qvextract` writes them: QV_ lines dropped, the entry's trailing blank kept
    lines: tuple[str, ...] = ()

    @property
    def pdb(self) -> str:
        return "".join(self.lines)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        raise OutputProblem(f"score value {text!r} is not a number") from None
    # NaN marks a metric the tool could not compute (an absent loop); JSON has no NaN.
    return None if math.isnan(value) else value


def parse_score_string(text: str) -> Scores:
    """`k1=v1|k2=v2` as Quiver stores it."""
    scores: Scores = {}
    for part in text.split("|"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise OutputProblem(f"score entry {part!r} is not key=value")
        scores[key] = _number(value)
    return scores


def parse_quiver(text: str) -> list[QuiverEntry]:
    entries: list[QuiverEntry] = []
    tag: str | None = None
    scores: Scores = {}
    lines: list[str] = []

    def close() -> None:
        if tag is not None:
            entries.append(QuiverEntry(tag, scores, tuple(lines)))

    for line in text.splitlines(keepends=True):
        if line.startswith("QV_TAG"):
            close()
            # as Quiver._read_tags: everything after the keyword, whitespace removed
            tag = "".join(line.split()[1:])
            if not tag:
                raise OutputProblem("QV_TAG line without a tag")
            if any(e.tag == tag for e in entries):
                raise OutputProblem(f"tag {tag} appears twice")
            scores, lines = {}, []
        elif line.startswith("QV_SCORE"):
            fields = line.split()
            if tag is None or len(fields) != 3 or fields[1] != tag:
                raise OutputProblem(f"QV_SCORE line does not belong to the entry before it: {line.strip()!r}")
            scores = parse_score_string(fields[2])
        elif tag is None:
            if line.strip():
                raise OutputProblem("content before the first QV_TAG")
        else:
            lines.append(line)
    close()
    return entries


def parse_pdb_scores(text: str) -> Scores:
    """RF2's PDB output (`--output-dir`): `SCORE key: value` lines after the REMARKs."""
    scores: Scores = {}
    for line in text.splitlines():
        if line.startswith("SCORE "):
            key, sep, value = line[6:].partition(":")
            if not sep or not key.strip():
                raise OutputProblem(f"unreadable SCORE line: {line!r}")
            scores[key.strip()] = _number(value.strip())
    return scores


def parse_scorefile(text: str) -> dict[str, Scores]:
    """`qvscorefile` output: tag → scores."""
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    if not rows or "tag" not in rows[0]:
        raise OutputProblem("a score file starts with a header that has a tag column")
    header = rows[0]
    at = header.index("tag")
    table: dict[str, Scores] = {}
    for row in rows[1:]:
        if len(row) != len(header):
            raise OutputProblem(f"score row has {len(row)} fields, the header {len(header)}")
        table[row[at]] = {k: _number(v) for i, (k, v) in enumerate(zip(header, row, strict=True)) if i != at}
    return table


def base_tags(rf2_tag: str) -> tuple[str, str]:
    """`samples_design_3_dldesign_1_best` → (sequence tag, backbone tag)."""
    sequence = rf2_tag.removesuffix("_best")
    return sequence, sequence.rsplit("_dldesign_", 1)[0]


# proteinmpnn_interface_design.py catches every per-structure exception, prints this and goes on:
# the run exits 0 with the structure missing from the output.
MPNN_STRUCT_FAILED = re.compile(r"^Struct with tag (\S+) failed in \d+ seconds with error: (.*)$", re.M)

# Failures found in the tools' sources and issues; checked whatever the exit status says.
KNOWN_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"CUDA out of memory|OutOfMemoryError", "GPU out of memory (truncate the target or design fewer residues)"),
        (
            r"Non-positive determinant \(left-handed or null coordinate frame\)",
            "the target has residues with missing or degenerate backbone atoms (non-positive determinant "
            "in a rotation matrix)",
        ),
        (r"not efficiently targeting the hotspots", "the designs never reached the hotspots"),
        (r"Error: \w+ script not found at", "the RFantibody installation is incomplete (inference script missing)"),
        (r"Only HLT remarked pdb files are currently supported", "RF2's input is not an HLT-remarked PDB"),
        (
            r"Remark indexing is bad|CDR definitions are overlapping|CDRs are discontiguous",
            "the CDR labels are invalid",
        ),
        (r"Did not find any chains labeled H or L", "the framework has no chain H or L"),
        (r"No such file or directory: '[^']*\.pt'", "model weights are missing"),
    )
)


def mpnn_failures(output: str) -> dict[str, str]:
    """Backbones ProteinMPNN skipped, with the exception type it printed."""
    return {m.group(1): m.group(2).strip() for m in MPNN_STRUCT_FAILED.finditer(output)}


def known_error(output: str) -> str | None:
    # ProteinMPNN's per-structure lines are partial failures, counted separately, not job failures.
    text = MPNN_STRUCT_FAILED.sub("", output)
    for pattern, reason in KNOWN_ERRORS:
        if pattern.search(text):
            return reason
    return None


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit)|Error)\b.*")


def error_line(output: str, limit: int = 300) -> str:
    """The line that says why a tool stopped: the last exception line of a traceback (Hydra
    follows it with a hint about HYDRA_FULL_ERROR), else the last line printed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line[:limit]
    return lines[-1][:limit] if lines else "(no output)"
