"""A CPU stand-in of RFantibody's three CLIs, for tests and the local stack only (settings
`rfantibody_standin`). It is NOT RFantibody: the designs are the framework translated next to the
hotspots, the CDR sequences are random and the scores are made up. What it keeps faithful is the
interface the adapter reads: the argument lists of commands.py and the files the tools write
(Quiver entries and tags, `QV_SCORE` keys in the tools' order, `{v:.2f}` values with `nan` for
absent loops, HLT chains and CDR remarks), so the whole request → designs table → exports path
runs without a GPU. Every result made with it says so (predictor.STAND_IN_NOTE).

Runs in-process as the predictor's runner; stdlib only."""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from omtx.predictors.rfantibody.inputs import THREE_TO_ONE
from omtx.predictors.rfantibody.outputs import RF2_KEYS, parse_quiver
from omtx.predictors.rfantibody.predictor import StepRun

BACKBONE = ("N", "CA", "C", "O")
ONE_TO_THREE = {one: three for three, one in THREE_TO_ONE.items()}
# ProteinMPNN's default --omit-aas is CX: the stand-in never draws them either.
DESIGN_ALPHABET = "ADEFGHIKLMNPQRSTVWY"
Atom = tuple[str, str, str, int, tuple[float, ...]]  # atom, residue name, chain, number, xyz
BANNER = "[stand-in] CPU stand-in of RFantibody; made-up designs, not the real tool"


def _options(argv: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            following = argv[i + 1] if i + 1 < len(argv) else ""
            options[arg[2:]] = "" if following.startswith("--") else following
    return options


def _atoms(text: str) -> list[Atom]:
    """(atom, residue name, chain, number, xyz) of the backbone atoms of ATOM records."""
    atoms: list[Atom] = []
    for line in text.splitlines():
        if line.startswith("ATOM") and line[12:16].strip() in BACKBONE:
            xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            atoms.append((line[12:16].strip(), line[17:20].strip(), line[21:22], int(line[22:26]), xyz))
    return atoms


def _line(serial: int, atom: str, resname: str, chain: str, number: int, xyz: tuple[float, ...]) -> str:
    # The column layout of util/io.py::ab_write_pdblines: occupancy 1.00, B-factor 0.00, no element.
    coordinates = "".join(f"{x:8.3f}" for x in xyz)
    return f"ATOM  {serial:5d}  {atom:<3s} {resname:3s} {chain}{number:4d}    {coordinates}  1.00  0.00\n"


def _entry(tag: str, score: str | None, atoms: list[tuple[str, str, str, int, tuple[float, ...]]], labels: str) -> str:
    lines = [f"QV_TAG {tag}\n"] + ([f"QV_SCORE {tag} {score}\n"] if score else [])
    lines += [_line(i + 1, *atom) for i, atom in enumerate(atoms)]
    return "".join(lines) + "TER\n" + labels + "\n"


def _labels(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("REMARK PDBinfo-LABEL"))


def rfdiffusion(options: Mapping[str, str]) -> str:
    framework = Path(options["framework"]).read_text()
    target = _atoms(Path(options["target"]).read_text())
    hotspots = {(h[0], int(h[1:])) for h in options["hotspots"].split(",")}
    first = int(options["extra"].split("=", 1)[1])
    antibody = _atoms(framework)
    labelled = _labelled_numbers(framework)
    spots = [xyz for atom, _, chain, number, xyz in target if atom == "CA" and (chain, number) in hotspots]
    centre = [sum(c) / len(spots) for c in zip(*spots, strict=True)] if spots else [0.0, 0.0, 0.0]
    out = []
    for n in range(first, first + int(options["num-designs"])):
        rng = random.Random(n)
        shift = [centre[k] + rng.uniform(6.0, 9.0) for k in range(3)]
        docked = [
            (
                atom,
                "GLY" if (chain, number) in labelled else name,
                chain,
                number,
                tuple(x + s for x, s in zip(xyz, shift, strict=True)),
            )
            for atom, name, chain, number, xyz in antibody
        ]
        renumbered = _renumber(docked + [(a, r, "T", num, xyz) for a, r, _, num, xyz in target])
        mindist = rng.uniform(4.0, 9.0)
        out.append(
            _entry(
                f"samples_design_{n}",
                f"mindist={mindist:.2f}|averagemin={mindist + 0.3:.2f}",
                renumbered,
                _labels(framework),
            )
        )
    return "".join(out)


def _labelled_numbers(framework: str) -> set[tuple[str, int]]:
    residues = []
    for atom, _, chain, number, _ in _atoms(framework):
        if atom == "CA":
            residues.append((chain, number))
    indices = {
        int(line.split(":")[1].split()[0]) for line in framework.splitlines() if line.startswith("REMARK PDBinfo-LABEL")
    }
    return {residues[i - 1] for i in indices if 0 < i <= len(residues)}


def _renumber(
    atoms: list[tuple[str, str, str, int, tuple[float, ...]]],
) -> list[tuple[str, str, str, int, tuple[float, ...]]]:
    """Residues numbered 1…L across chains, as RFdiffusion writes them."""
    out, seen, last = [], 0, None
    for atom, name, chain, number, xyz in atoms:
        if (chain, number) != last:
            seen, last = seen + 1, (chain, number)
        out.append((atom, name, chain, seen, xyz))
    return out


def proteinmpnn(options: Mapping[str, str]) -> str:
    out = []
    for entry in parse_quiver(Path(options["input-quiver"]).read_text()):
        text = entry.pdb
        designed = _labelled_numbers(text)
        for i in range(int(options["seqs-per-struct"])):
            rng = random.Random(zlib.crc32(f"{entry.tag}/{i}".encode()))
            names = {key: ONE_TO_THREE[rng.choice(DESIGN_ALPHABET)] for key in designed}
            atoms = [(a, names.get((c, num), r), c, num, xyz) for a, r, c, num, xyz in _atoms(text)]
            out.append(_entry(f"{entry.tag}_dldesign_{i}", None, atoms, _labels(text)))
    return "".join(out)


def rf2(options: Mapping[str, str]) -> str:
    out = []
    for entry in parse_quiver(Path(options["input-quiver"]).read_text()):
        rng = random.Random(zlib.crc32(entry.tag.encode()))
        has_light = any(c == "L" for _, _, c, _, _ in _atoms(entry.pdb))
        scores = {
            "interaction_pae": rng.uniform(5.0, 18.0),
            "pae": rng.uniform(4.0, 14.0),
            "pred_lddt": rng.uniform(0.6, 0.95),
        }
        for key in RF2_KEYS[3:]:
            absent = key.startswith("framework_aligned_L") and not has_light
            scores[key] = float("nan") if absent else rng.uniform(0.4, 4.0)
        score = "|".join(f"{k}={v:.2f}" for k, v in scores.items())
        atoms = [(a, r, c, num, tuple(x + rng.gauss(0, 0.2) for x in xyz)) for a, r, c, num, xyz in _atoms(entry.pdb)]
        out.append(_entry(f"{entry.tag}_best", score, atoms, _labels(entry.pdb)))
    return "".join(out)


TOOLS = {"rfdiffusion": rfdiffusion, "proteinmpnn": proteinmpnn, "rf2": rf2}


def standin_runner(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float) -> StepRun:
    name = Path(argv[0]).name
    options = _options(argv)
    try:
        text = TOOLS[name](options)
    except Exception as exc:  # a stand-in failure reads like a tool's: the adapter reports it
        return StepRun(1, f"{BANNER}\nError: {type(exc).__name__}: {exc}")
    Path(options["output-quiver"]).write_text(text)
    return StepRun(0, f"{BANNER}\n[{name}] wrote {text.count('QV_TAG')} entries to {options['output-quiver']}")
