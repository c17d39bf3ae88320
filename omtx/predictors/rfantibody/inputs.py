"""RFantibody inputs: the hotspot and loop-length grammars its RFdiffusion reads, and the checks a
target or framework PDB must pass before it reaches a GPU. Pure functions, stdlib only.

Grounded in RosettaCommons/RFantibody at the pinned commit (see commands.py):
`src/rfantibody/rfdiffusion/inference/ab_pose.py` (hotspots are chain letter + residue number,
matched against the target's ATOM residues; loop entries are `NAME:` / `NAME:N` / `NAME:N-M`),
`src/rfantibody/rfdiffusion/parsers.py::HLT_pdb_parser` (residues are the ATOM records with a CA;
CDRs are `REMARK PDBinfo-LABEL:%5s %s` lines with a 1-based absolute residue index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CDR_NAMES = ("H1", "H2", "H3", "L1", "L2", "L3")
# RFdiffusion's chemical.py residue alphabet: a CA-bearing ATOM residue outside it is a KeyError
# deep inside the tool, so it is refused here.
KNOWN_RESIDUES = frozenset(
    "ALA ARG ASN ASP CYS GLN GLU GLY HIS ILE LEU LYS MET PHE PRO SER THR TRP TYR VAL UNK MAS".split()
)
THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
    "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
    "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
}  # fmt: skip
# RFdiffusion and RF2 scale as O(N²) in residues (README, "Truncating your Target Protein").
MAX_TARGET_RESIDUES = 1_000
MAX_LOOP_LENGTH = 30

_HOTSPOT = re.compile(r"^([A-Za-z])(\d{1,5})$")
_LOOP = re.compile(r"^([HhLl][123]):(?:(\d{1,3})(?:-(\d{1,3}))?)?$")
_LABEL = re.compile(r"^REMARK PDBinfo-LABEL:\s*(\d+)\s+(\S+)")


class InputProblem(ValueError):
    """An input RFantibody would reject or mis-read; the message says what to change."""


@dataclass(frozen=True)
class Hotspot:
    chain: str
    number: int

    def __str__(self) -> str:
        return f"{self.chain}{self.number}"


@dataclass(frozen=True)
class LoopSpec:
    """One designed CDR: lengths sampled uniformly from min..max; None keeps the framework's length."""

    name: str
    min_length: int | None = None
    max_length: int | None = None

    def __str__(self) -> str:
        if self.min_length is None:
            return f"{self.name}:"
        if self.max_length is None or self.max_length == self.min_length:
            return f"{self.name}:{self.min_length}"
        return f"{self.name}:{self.min_length}-{self.max_length}"


def parse_hotspots(text: str) -> tuple[Hotspot, ...]:
    """`"T305,T456"` → hotspots; order kept, duplicates refused."""
    entries = [e.strip() for e in text.split(",")]
    if not text.strip() or any(not e for e in entries):
        raise InputProblem('give hotspots as comma-separated chain+residue number, e.g. "T305,T456"')
    hotspots: list[Hotspot] = []
    for entry in entries:
        match = _HOTSPOT.match(entry)
        if match is None:
            # RFdiffusion reads entry[0] as the chain and int(entry[1:]) as the number: insertion
            # codes, negative numbers and two-letter chains cannot be expressed.
            raise InputProblem(f"hotspot {entry!r} is not a chain letter followed by a residue number, e.g. T305")
        spot = Hotspot(match.group(1), int(match.group(2)))
        if spot in hotspots:
            raise InputProblem(f"hotspot {entry} is listed twice")
        hotspots.append(spot)
    return tuple(hotspots)


def format_hotspots(hotspots: tuple[Hotspot, ...]) -> str:
    return ",".join(str(h) for h in hotspots)


def parse_loops(text: str) -> tuple[LoopSpec, ...]:
    """`"H1:7,H2:6,H3:5-13"` → loop specs. The tool also reads `|`-separated alternatives, but its
    CLI passes the list through a Hydra override where `|` is not safe, so ranges only."""
    entries = [e.strip() for e in text.split(",")]
    if not text.strip() or any(not e for e in entries):
        raise InputProblem('give design loops as comma-separated NAME:LENGTH entries, e.g. "H1:7,H2:6,H3:5-13"')
    loops: list[LoopSpec] = []
    for entry in entries:
        match = _LOOP.match(entry)
        if match is None:
            raise InputProblem(
                f"design loop {entry!r} is not NAME:, NAME:N or NAME:N-M with NAME one of {', '.join(CDR_NAMES)}"
            )
        name = match.group(1).upper()
        low = int(match.group(2)) if match.group(2) else None
        high = int(match.group(3)) if match.group(3) else None
        if any(loop.name == name for loop in loops):
            raise InputProblem(f"design loop {name} is listed twice")
        for value in (low, high):
            if value is not None and not 1 <= value <= MAX_LOOP_LENGTH:
                raise InputProblem(f"design loop {name}: lengths must be 1–{MAX_LOOP_LENGTH}, got {value}")
        if low is not None and high is not None and high < low:
            raise InputProblem(f"design loop {name}: range {low}-{high} runs backwards")
        loops.append(LoopSpec(name, low, high if high != low else None))
    return tuple(loops)


def format_loops(loops: tuple[LoopSpec, ...]) -> str:
    return ",".join(str(loop) for loop in loops)


@dataclass(frozen=True)
class Residue:
    chain: str
    number: int
    name: str


@dataclass(frozen=True)
class PdbSummary:
    """What RFantibody's parsers see in a PDB: CA-bearing ATOM residues in file order, and the
    CDR labels as loop → 1-based absolute residue indices."""

    residues: tuple[Residue, ...]
    labels: dict[str, tuple[int, ...]]

    @property
    def chains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.chain for r in self.residues))

    def sequence(self, chain: str) -> str:
        return "".join(THREE_TO_ONE.get(r.name, "X") for r in self.residues if r.chain == chain)

    def loop_sequence(self, loop: str) -> str:
        indices = self.labels.get(loop, ())
        return "".join(THREE_TO_ONE.get(self.residues[i - 1].name, "X") for i in indices if 0 < i <= len(self.residues))


def summarize_pdb(lines: list[str] | tuple[str, ...]) -> PdbSummary:
    residues: list[Residue] = []
    seen: set[tuple[str, int]] = set()
    labels: dict[str, list[int]] = {}
    for line in lines:
        if line.startswith("ATOM") and line[12:16].strip() == "CA":
            try:
                key = (line[21:22].strip(), int(line[22:26]))
            except ValueError:
                raise InputProblem(f"unreadable residue number in ATOM record: {line.rstrip()!r}") from None
            # The tool keeps the first of repeated (chain, number) residues (alternate locations).
            if key not in seen:
                seen.add(key)
                residues.append(Residue(key[0], key[1], line[17:20].strip()))
        elif match := _LABEL.match(line):
            labels.setdefault(match.group(2).upper(), []).append(int(match.group(1)))
    return PdbSummary(tuple(residues), {k: tuple(v) for k, v in labels.items()})


def check_target(text: str, hotspots: tuple[Hotspot, ...]) -> PdbSummary:
    """The target as RFdiffusion's `target_from_HLT` will read it; every hotspot must be one of
    its residues (the tool silently ignores a hotspot it cannot find)."""
    if text.lstrip().startswith("data_"):
        raise InputProblem("RFantibody reads PDB targets only; convert the mmCIF to PDB")
    summary = summarize_pdb(text.splitlines())
    if not summary.residues:
        raise InputProblem("the target has no ATOM records with CA atoms")
    if summary.labels:
        raise InputProblem("the target carries REMARK PDBinfo-LABEL (CDR) lines; RFdiffusion refuses a labelled target")
    if len(summary.residues) > MAX_TARGET_RESIDUES:
        raise InputProblem(
            f"the target has {len(summary.residues)} residues; truncate it to at most {MAX_TARGET_RESIDUES} "
            "around the epitope (runtime grows with the square of the residue count)"
        )
    unknown = sorted({r.name for r in summary.residues} - KNOWN_RESIDUES)
    if unknown:
        raise InputProblem(f"the target has residues RFantibody cannot read: {', '.join(unknown[:5])}")
    present = {(r.chain, r.number) for r in summary.residues}
    missing = [str(h) for h in hotspots if (h.chain, h.number) not in present]
    if missing:
        chains = ", ".join(summary.chains)
        raise InputProblem(f"hotspot(s) {', '.join(missing)} are not residues of the target (chains: {chains})")
    return summary


def check_framework(text: str) -> PdbSummary:
    """A custom HLT framework (README, "HLT File Format"): chains H and/or L only, CDRs labelled."""
    summary = summarize_pdb(text.splitlines())
    if not summary.residues:
        raise InputProblem("the framework has no ATOM records with CA atoms")
    others = [c for c in summary.chains if c not in ("H", "L")]
    if others:
        raise InputProblem(f"an HLT framework has only chains H and L; found {', '.join(others)}")
    if not summary.labels:
        raise InputProblem("the framework has no REMARK PDBinfo-LABEL lines marking its CDRs (see chothia2HLT.py)")
    unknown_loops = sorted(set(summary.labels) - set(CDR_NAMES))
    if unknown_loops:
        raise InputProblem(f"the framework labels unknown loops: {', '.join(unknown_loops)}")
    for loop, indices in summary.labels.items():
        if any(not 0 < i <= len(summary.residues) for i in indices):
            raise InputProblem(f"the framework's {loop} labels point past its {len(summary.residues)} residues")
    return summary
