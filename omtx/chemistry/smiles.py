"""One SMILES string checked with RDKit against LIGAND_POLICY (omtx.chemistry.policy): the
text, then the atoms, stereo marks nothing defines, and salts; the molecule that runs, or why the
string is not one."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rdkit import Chem, RDLogger
from rdkit.Chem import rdqueries
from rdkit.Chem.MolStandardize import rdMolStandardize

from omtx.chemistry.policy import LIGAND_POLICY, LigandRejected, apply, refuse

# RDKit prints parse failures to stderr; we turn them into per-row messages instead. With logging
# off, the one RDKit *warning* on this path (an isolated ion with an impossible charge) concerns
# carbon-free input, which the policy refuses anyway; everything else RDKit objects to raises.
RDLogger.DisableLog("rdApp.*")


_largest_fragment = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
# What counter-ions and solvents are made of; anything else in a dropped fragment is refused.
SALT_ELEMENTS = frozenset({"H", "C", "N", "O", "S", "P", "F", "Cl", "Br", "I", "Si", "Li", "Na", "K", "Mg", "Ca"})
# RDKit counts a transition-metal ion's unpaired d electrons as radicals ([Cu+2]); metals are judged
# by the fragment and element rules instead, so only these elements' radicals are refused.
NONMETALS = frozenset({"H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "As", "Se", "Br", "Te", "I"})
SHOWN = 5  # offending characters or atoms named in one message

# Walking atoms from Python is RDKit's slow part: these find atoms in C++.
DUMMY_ATOM = rdqueries.AtomNumEqualsQueryAtom(0)
CARBON = rdqueries.AtomNumEqualsQueryAtom(6)
RADICAL = rdqueries.NumRadicalElectronsGreaterQueryAtom(0)
CHIRAL = rdqueries.HasChiralTagQueryAtom()

BRACKET = re.compile(r"\[[^\[\]]*\]")
# OpenSMILES bracket atom: isotope, symbol, chirality, hydrogens, charge, atom class
BRACKET_ATOM = re.compile(
    r"\[\d*(?:[A-Z][a-z]?|[a-z]{1,2}|\*)(?:@(?:@|TH[12]|AL[12]|SP[1-3]|TB\d{1,2}|OH\d{1,2})?)?(?:H\d*)?"
    r"(?:[+-](?:\d+|[+-]*))?(?::\d+)?\]"
)
R_GROUP = re.compile(r"\[\d*R(?:\d+|#)?(?::\d+)?\]")  # [R], [R1], [R#]; not [Rb], [Rn]...
SMARTS_IN_BRACKETS = re.compile(r"[,;&!#$]|[DXRrvxhAa]")  # logic, [#6], and primitives D X R v x h A
SMARTS_OUTSIDE = re.compile(r"[~!,;&@]")  # any-bond, logic, ring-bond: never SMILES outside brackets


def parse_smiles(smiles: str) -> tuple[Chem.Mol, list[str]]:
    """Parse and sanitize, then apply LIGAND_POLICY; keep the largest fragment (salts and
    solvents), saying so."""
    warnings: list[str] = []
    text = _read_text(smiles, warnings)
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        refuse("syntax")
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several unrelated types for chemistry problems
        raise LigandRejected(LIGAND_POLICY["chemistry"].message.format(why=exc)) from exc
    _check_atoms(mol, warnings)
    if any(mark in text for mark in "@/\\"):  # the common molecule has no stereo marks: skip the work
        _note_ignored_stereo(mol, text, warnings)
    return _strip_salts(mol, warnings), warnings


def _read_text(smiles: str, warnings: list[str]) -> str:
    """The SMILES without surrounding ASCII whitespace, once every character is one SMILES has.
    Positions in messages count from 1 in the string as the user sent it."""
    if not smiles.isascii():  # RDKit would drop some of these silently ("Cα" read as methane)
        bad = [_character(at, ch) for at, ch in enumerate(smiles, 1) if not ch.isascii()]
        apply("non_ascii", warnings, where=_listed(bad))
    text = smiles.strip(string.whitespace)
    offset = len(smiles) - len(smiles.lstrip(string.whitespace))
    if not text:
        refuse("empty")
    if " " in text or not text.isprintable():  # one pass in C for the common, clean string
        if any(ch in string.whitespace for ch in text):
            apply("whitespace", warnings)  # RDKit stops reading at a space
        # RDKit reads a C string: it would stop at a NUL and accept "C\x00garbage" as methane.
        if (bad_at := next((i for i, ch in enumerate(text) if not ch.isprintable()), None)) is not None:
            apply("control", warnings, char=repr(text[bad_at]), at=offset + bad_at + 1)
    if (arrow := text.find(">")) >= 0:
        apply("reaction", warnings, at=offset + arrow + 1)
    _check_tokens(text, offset, warnings)
    return text


def _character(at: int, ch: str) -> str:
    described = f"character {at} is U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"
    lookalike = unicodedata.normalize("NFKC", ch)  # full-width "Ｃ" → "C": a hint, never a repair
    if lookalike.isascii() and lookalike.isprintable() and not lookalike.isspace():
        described += f" (looks like {lookalike!r})"
    return described


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _check_tokens(text: str, offset: int, warnings: list[str]) -> None:
    """R-groups and SMARTS, found in the text: RDKit refuses most of them with only "syntax
    error", and accepts some ([#6] as a carbon radical, ~ as a query bond)."""
    for match in BRACKET.finditer(text):
        token, where = match.group(), f"{match.group()} at character {offset + match.start() + 1}"
        if R_GROUP.fullmatch(token):
            apply("attachment", warnings, where=where)
        elif not BRACKET_ATOM.fullmatch(token) and SMARTS_IN_BRACKETS.search(token[1:-1]):
            apply("query", warnings, where=where)
    outside = BRACKET.sub(lambda m: " " * len(m.group()), text) if "[" in text else text  # positions hold
    if found := SMARTS_OUTSIDE.search(outside):
        apply("query", warnings, where=f"{found.group()!r} at character {offset + found.start() + 1}")


def _check_atoms(mol: Chem.Mol, warnings: list[str]) -> None:
    """Atoms numbered from 1 in the order the SMILES writes them."""
    if mol.HasQuery():
        queries = [_atom(a) for a in mol.GetAtoms() if a.HasQuery()]
        queries += [
            f"a query bond between atoms {b.GetBeginAtomIdx() + 1} and {b.GetEndAtomIdx() + 1}"
            for b in mol.GetBonds()
            if b.HasQuery()
        ]
        apply("query", warnings, where=_listed(queries))
    if dummies := [_atom(a) for a in mol.GetAtomsMatchingQuery(DUMMY_ATOM)]:
        apply("attachment", warnings, where=_listed(dummies))
    radicals = [
        f"{_atom(a)} with {n} unpaired electron{'s' if n > 1 else ''}"
        for a in mol.GetAtomsMatchingQuery(RADICAL)
        if a.GetSymbol() in NONMETALS and (n := a.GetNumRadicalElectrons())
    ]
    if radicals:
        apply("radical", warnings, where=_listed(radicals))
    if mol.GetNumHeavyAtoms() == 0:
        refuse("no_heavy_atoms")


def _atom(atom: Chem.Atom) -> str:
    return f"atom {atom.GetIdx() + 1} is {atom.GetSmarts()}"


def _note_ignored_stereo(mol: Chem.Mol, text: str, warnings: list[str]) -> None:
    """RDKit drops a stereo mark on an atom that is not a stereocentre, or on a double bond that
    cannot be cis/trans, without a word; the row says so instead."""
    chiral = [(a, _atom(a)) for a in mol.GetAtomsMatchingQuery(CHIRAL)]
    marked = []
    if "/" in text or "\\" in text:
        marked = [b for b in mol.GetBonds() if b.GetBondType() == Chem.BondType.DOUBLE and _has_direction_mark(b)]
    Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    unspecified = Chem.ChiralType.CHI_UNSPECIFIED
    ignored = [f"{where} but not a stereocentre" for atom, where in chiral if atom.GetChiralTag() == unspecified]
    ignored += [
        f"the double bond between atoms {b.GetBeginAtomIdx() + 1} and {b.GetEndAtomIdx() + 1} cannot be cis/trans"
        for b in marked
        if b.GetStereo() == Chem.BondStereo.STEREONONE
    ]
    if ignored:
        apply("stereo_ignored", warnings, where=_listed(ignored))


def _has_direction_mark(double: Chem.Bond) -> bool:
    """A / or \\ on a single bond next to the double bond."""
    return any(
        bond.GetIdx() != double.GetIdx() and bond.GetBondDir() != Chem.BondDir.NONE
        for atom in (double.GetBeginAtom(), double.GetEndAtom())
        for bond in atom.GetBonds()
    )


def _strip_salts(mol: Chem.Mol, warnings: list[str]) -> Chem.Mol:
    """The largest organic fragment; what was removed is said on the row."""
    several = len(Chem.GetMolFrags(mol)) > 1  # atom indices: cheap for the common single fragment
    kept = _largest_fragment.choose(mol) if several else mol
    if not kept.GetAtomsMatchingQuery(CARBON):
        apply("no_organic", warnings, smiles=Chem.MolToSmiles(mol))
    if not several:
        return mol
    kept_smiles = Chem.MolToSmiles(kept)
    every = [(Chem.MolToSmiles(f), f) for f in Chem.GetMolFrags(mol, asMols=True)]
    fragments = dict(every)
    removed = Counter(smiles for smiles, _ in every)
    removed[kept_smiles] -= 1
    others = [smiles for smiles in fragments if smiles != kept_smiles]  # copies of the kept one drop nothing
    dropped = {atom.GetSymbol() for smiles in others for atom in fragments[smiles].GetAtoms()}
    if unusual := sorted(dropped - SALT_ELEMENTS):
        # ferrocene, zinc pyrithione, gadoterate: the "salt" is the point of the molecule
        apply("non_salt_fragment", warnings, elements=", ".join(unusual))
    shown = [f"{n} × {smiles}" if n > 1 else smiles for smiles, n in removed.items() if n > 0]
    apply("salt_stripped", warnings, count=removed.total() + 1, removed=_listed(shown))
    heavy = kept.GetNumHeavyAtoms()
    if large := [smiles for smiles in others if fragments[smiles].GetNumHeavyAtoms() >= heavy]:
        apply("large_fragment_removed", warnings, fragment=_listed(large))
    return kept


@dataclass(frozen=True)
class Molecule:
    """What validation needs of one SMILES: small, so it crosses process boundaries cheaply."""

    canonical_smiles: str
    heavy_atoms: int
    warnings: tuple[str, ...]
    elements: frozenset[str]


def describe(smiles: str) -> Molecule | str:
    """The molecule, or why the string is not one."""
    try:
        mol, warnings = parse_smiles(smiles)
    except LigandRejected as exc:
        return str(exc)
    return Molecule(
        Chem.MolToSmiles(mol),
        mol.GetNumHeavyAtoms(),
        tuple(warnings),
        frozenset(atom.GetSymbol() for atom in mol.GetAtoms()),
    )


def inchikey(canonical_smiles: str) -> str:
    """Computed when jobs are written, not at validation: it is half of RDKit's time per molecule
    (0.4 ms), and a 100,000-ligand batch must be answered in seconds. Empty when InChI fails."""
    mol = Chem.MolFromSmiles(canonical_smiles)
    return Chem.MolToInchiKey(mol) if mol is not None else ""
