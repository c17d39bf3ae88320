"""What Boltz-2 leaves behind, read back: one ligand's prediction folder as metrics and files, and
for a ligand without one, the reason, read from the run's log (research/MODELS.md A.5, A.8).

`boltz predict` usually exits 0 when inputs fail, so a ligand's outcome is decided by its own
files: a structure (rank 0) and its confidence summary, plus the affinity summary when
affinity was asked for. Only when those are missing does the log say why."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omtx.predictors.base import Prediction, PredictionFailed, StructureView
from omtx.units import delta_g_kcal_from_log10_ic50_um, pic50_from_log10_ic50_um

# The complex a job returns (rank 0): the report shows it, PoseBusters checks its ligand.
STRUCTURE = StructureView("structure.cif")
CONFIDENCE_KEYS = (
    "confidence_score",
    "ptm",
    "iptm",
    "ligand_iptm",
    "protein_iptm",
    "complex_plddt",
    "complex_iplddt",
    "complex_pde",
    "complex_ipde",
)
AFFINITY_KEYS = ("affinity_pred_value", "affinity_probability_binary")

OUT_OF_MEMORY = re.compile(r"ran out of memory, skipping batch")
FAILED_TO_PROCESS = re.compile(r"Failed to process (?P<path>.+?\.ya?ml)\. Skipping\. Error: (?P<error>.*)$")
AFFINITY_PASS = "Predicting property: affinity"
ERROR_LINE = re.compile(r"^[A-Za-z_.]*(Error|Exception)\b.*:")


def structure_path(folder: Path, stem: str) -> Path:
    return folder / f"{stem}_model_0.cif"


def confidence_path(folder: Path, stem: str) -> Path:
    return folder / f"confidence_{stem}_model_0.json"


def affinity_path(folder: Path, stem: str) -> Path:
    return folder / f"affinity_{stem}.json"


def has_structure(folder: Path, stem: str) -> bool:
    return structure_path(folder, stem).is_file() and confidence_path(folder, stem).is_file()


def has_outputs(folder: Path, stem: str, *, affinity: bool) -> bool:
    """Everything a result needs is on disk. A JSON caught half-written does not parse, so it
    does not count yet."""
    return has_structure(folder, stem) and (not affinity or _load_json(affinity_path(folder, stem)) is not None)


def record_finished(folder: Path, stem: str, *, affinity: bool, samples: int) -> bool:
    """Whether a running `boltz predict` is done with this ligand, so it can be reported now.

    The writer saves each sample's structure, confidence and then pLDDT, in one go per ligand;
    the affinity pass, after every structure, writes one JSON per ligand."""
    if affinity:
        return has_outputs(folder, stem, affinity=True)
    return all((folder / f"plddt_{stem}_model_{rank}.npz").is_file() for rank in range(samples))


def parse_record(folder: Path, stem: str, *, affinity: bool, log: str = "") -> Prediction:
    """One ligand's prediction folder (predictions/<stem>/) as metrics, files and raw output.

    `affinity_pred_value` is log10(IC50 / µM); pIC50 and ΔG derive from it (omtx.units)."""
    confidence = _load_json(confidence_path(folder, stem))
    if confidence is None:
        raise PredictionFailed(f"Boltz-2 wrote no readable confidence_{stem}_model_0.json")
    missing = [key for key in CONFIDENCE_KEYS if not isinstance(confidence.get(key), int | float)]
    if missing:
        raise PredictionFailed(f"Boltz-2 confidence summary lacks {', '.join(missing)}")
    structure = structure_path(folder, stem).read_bytes() if structure_path(folder, stem).is_file() else b""
    if not structure.startswith(b"data_"):
        raise PredictionFailed(f"Boltz-2 wrote no mmCIF structure {stem}_model_0.cif")
    # Rounded for tables; raw keeps the values as Boltz wrote them.
    metrics: dict[str, Any] = {key: round(float(confidence[key]), 4) for key in CONFIDENCE_KEYS}
    raw: dict[str, Any] = {"record": stem, "confidence": confidence}
    if affinity:
        summary = _load_json(affinity_path(folder, stem))
        if summary is None or not all(isinstance(summary.get(key), int | float) for key in AFFINITY_KEYS):
            raise PredictionFailed(f"Boltz-2 wrote no readable affinity_{stem}.json")
        value = float(summary["affinity_pred_value"])
        metrics |= {
            "affinity_pred_value": round(value, 4),
            "affinity_probability_binary": round(float(summary["affinity_probability_binary"]), 4),
            "pic50": round(pic50_from_log10_ic50_um(value), 4),
            "delta_g_kcal": round(delta_g_kcal_from_log10_ic50_um(value), 4),
        }
        raw["affinity"] = summary
    return Prediction(metrics=metrics, files={STRUCTURE.file: (structure, "chemical/x-mmcif")}, raw=raw, log=log)


@dataclass(frozen=True)
class RunLog:
    """A finished run's log, split where the affinity pass starts: an out-of-memory line names
    no record, but which pass printed it tells a missing structure from a missing affinity."""

    structure_pass: list[str]
    affinity_pass: list[str]

    @classmethod
    def parse(cls, text: str) -> RunLog:
        # tqdm redraws with carriage returns, which share physical lines with real messages.
        lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
        split = next((i for i, line in enumerate(lines) if AFFINITY_PASS in line), len(lines))
        return cls(structure_pass=lines[:split], affinity_pass=lines[split:])

    @property
    def lines(self) -> list[str]:
        return self.structure_pass + self.affinity_pass

    def mentioning(self, stem: str) -> str:
        pattern = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(stem)}(?![A-Za-z0-9_-])")
        return "".join(line + "\n" for line in self.lines if pattern.search(line))

    def process_error(self, stem: str) -> str | None:
        for line in self.structure_pass:
            match = FAILED_TO_PROCESS.search(line)
            if match and Path(match["path"]).stem == stem:
                return match["error"].strip().removesuffix(".")
        return None

    def last_error(self) -> str | None:
        return next((line for line in reversed(self.lines) if ERROR_LINE.match(line)), None)


def diagnose(stem: str, log: RunLog, *, processed: bool, has_structure: bool, exit_code: int) -> str:
    """Why a ligand has no complete prediction, from what the run left and printed."""
    if has_structure:
        # Only the affinity summary is missing.
        if any(OUT_OF_MEMORY.search(line) for line in log.affinity_pass):
            return "Boltz-2 ran out of GPU memory in the affinity pass (the structure was predicted)"
        if exit_code != 0:
            return f"Boltz-2's affinity pass crashed (exit code {exit_code}): {log.last_error() or 'no error line'}"
        return "Boltz-2 wrote the structure but no affinity_*.json"
    error = log.process_error(stem)
    if error is not None:
        return f"Boltz-2 could not process the input: {error}"
    if processed and any(OUT_OF_MEMORY.search(line) for line in log.structure_pass):
        return "Boltz-2 ran out of GPU memory predicting this complex (the run skipped it)"
    if exit_code != 0:
        return f"boltz predict exited with code {exit_code} before this ligand: {log.last_error() or 'no error line'}"
    return "Boltz-2 wrote no prediction folder for this ligand"


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
