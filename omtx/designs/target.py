"""The design target: the chain RFantibody designs against, cut out of the caller's structure, and
the checks every hotspot must pass. Each problem names its field, so one 422 lists them all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from omtx.designs.exposure import MIN_RELATIVE_SASA, relative_sasa
from omtx.predictors.rfantibody.inputs import InputProblem, check_target, summarize_pdb
from omtx.structures import is_mmcif

_HOTSPOT = re.compile(r"^([A-Za-z]?)(-?\d{1,5})$")


@dataclass(frozen=True)
class Target:
    pdb: str  # the target chain's ATOM records as PDB text: what RFantibody reads
    chain: str
    sequence: str
    numbers: tuple[int, ...]  # residue numbers in file order


def problem(loc: list[str | int], msg: str, value: Any = None) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "input": value}


def _pdb_text(text: str) -> str:
    """mmCIF is converted (gemmi) so the rest of the pipeline reads PDB, as RFantibody does."""
    if not is_mmcif(text):
        return text
    import gemmi

    structure = gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
    structure.setup_entities()
    return str(structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True)))


def cut_target(text: str, chain: str) -> Target:
    """The chain's ATOM records (first model, no hydrogens, waters or ligands); InputProblem if
    the structure cannot be read or has no such chain."""
    try:
        pdb = _pdb_text(text)
    except (RuntimeError, ValueError) as exc:
        raise InputProblem(f"the structure cannot be read as mmCIF: {exc}") from None
    lines, chains = [], []
    for line in pdb.splitlines():
        if line.startswith("ENDMDL"):
            break  # the first model only
        if line.startswith("ATOM"):
            chains.append(line[21:22])
            is_hydrogen = line[76:78].strip() == "H" or line[12:16].strip().startswith("H")
            if line[21:22] == chain and not is_hydrogen:
                lines.append(line)
    if not lines:
        found = ", ".join(dict.fromkeys(c.strip() or "(blank)" for c in chains)) or "none"
        raise InputProblem(f"the structure has no protein chain {chain!r} (its chains: {found})")
    cut = "\n".join(lines) + "\nTER\nEND\n"
    summary = summarize_pdb(cut.splitlines())
    return Target(
        pdb=cut,
        chain=chain,
        sequence="".join(summary.sequence(chain)),
        numbers=tuple(r.number for r in summary.residues),
    )


def hotspot_problems(target: Target, hotspots: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The hotspots as RFantibody reads them (chain + number) and a problem for each bad one:
    unreadable, on another chain, not a residue of the chain, or buried (rSASA below
    MIN_RELATIVE_SASA, so no CDR can reach it)."""
    problems: list[dict[str, Any]] = []
    parsed: dict[int, tuple[int, str]] = {}
    present = set(target.numbers)
    for i, raw in enumerate(hotspots):
        loc: list[str | int] = ["hotspots", i]
        match = _HOTSPOT.match(raw.strip())
        if match is None:
            problems.append(
                problem(
                    loc,
                    f"hotspot {raw!r} is not a residue number, optionally after its chain "
                    f"(e.g. 305 or {target.chain}305)",
                    raw,
                )
            )
            continue
        chain, number = match.group(1) or target.chain, int(match.group(2))
        if chain != target.chain:
            problems.append(
                problem(loc, f"hotspot {raw} is on chain {chain}, not on the target chain {target.chain}", raw)
            )
        elif number < 0:
            problems.append(problem(loc, f"hotspot {raw}: RFantibody cannot express a negative residue number", raw))
        elif number not in present:
            span = f"{min(present)}–{max(present)}" if present else "none"
            problems.append(
                problem(loc, f"hotspot {raw}: chain {target.chain} has no residue {number} (its residues: {span})", raw)
            )
        elif number in {n for n, _ in parsed.values()}:
            problems.append(problem(loc, f"hotspot {raw} is listed twice", raw))
        else:
            parsed[i] = (number, raw)
    exposure = relative_sasa(target.pdb, [(target.chain, n) for n, _ in parsed.values()])
    for i, (number, raw) in parsed.items():
        value = exposure.get((target.chain, number), 0.0)
        if value < MIN_RELATIVE_SASA:
            problems.append(
                problem(
                    ["hotspots", i],
                    f"hotspot {raw} is buried: relative SASA {value:.2f} is below {MIN_RELATIVE_SASA} "
                    "(a CDR loop cannot contact it); choose a surface residue",
                    raw,
                )
            )
    buried = {p["loc"][1] for p in problems}
    return [f"{target.chain}{number}" for i, (number, _) in parsed.items() if i not in buried], problems


def target_problems(target: Target, hotspots: list[str]) -> list[dict[str, Any]]:
    """RFantibody's own target checks (residue alphabet, size, no CDR labels)."""
    from omtx.predictors.rfantibody.inputs import parse_hotspots

    try:
        check_target(target.pdb, parse_hotspots(",".join(hotspots)) if hotspots else ())
    except InputProblem as exc:
        return [problem(["target", "structure"], str(exc))]
    return []
