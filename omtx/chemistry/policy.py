"""LIGAND_POLICY: the one statement of which strings become ligands and which are refused or
accepted with a warning. Every check (omtx.chemistry.smiles, omtx.chemistry.ligands) reports
through `apply` or `refuse`, so a finding's verdict and message are only ever the table's, and
README.md ("Which molecules are accepted") cites it. It is the same for every model: models
differ only in their Limits (heavy atoms, elements), whose messages are in the table too."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple, NoReturn


class Verdict(StrEnum):
    ACCEPT = "accept"
    WARN = "warn"  # accepted, and the row says what was changed or ignored: nothing silent
    REJECT = "reject"


class Rule(NamedTuple):
    what: str  # the kind of input, as README.md's table names it
    verdict: Verdict
    message: str  # the row's error or warning; the check fills in the {fields}


REJECT, WARN, ACCEPT = Verdict.REJECT, Verdict.WARN, Verdict.ACCEPT
LIGAND_POLICY: dict[str, Rule] = {
    # -- the text: SMILES is ASCII (OpenSMILES); nothing is repaired, every character is read
    "empty": Rule("empty or blank", REJECT, "empty SMILES"),
    "non_ascii": Rule(
        "any non-ASCII character (full-width letters, no-break space, Greek)", REJECT, "SMILES is ASCII only: {where}"
    ),
    "whitespace": Rule("whitespace inside (a name or CXSMILES after a space)", REJECT, "SMILES contains whitespace"),
    "control": Rule("a control character", REJECT, "SMILES contains the control character {char} at position {at}"),
    "syntax": Rule("anything RDKit cannot parse", REJECT, "SMILES syntax error: RDKit could not parse it"),
    "chemistry": Rule("impossible valence or aromaticity", REJECT, "invalid chemistry: {why}"),
    # -- things that are not one ligand
    "reaction": Rule("a reaction (`>>`)", REJECT, "a reaction SMILES, not a molecule: '>' at character {at}"),
    "query": Rule(
        "SMARTS query features (`[C,N]`, `[#6]`, `[CX4]`, `~`)", REJECT, "a SMARTS query, not a molecule: {where}"
    ),
    "attachment": Rule(
        "dummy atoms, attachment points, R-groups (`*`, `[*:1]`, `[R1]`)",
        REJECT,
        "a dummy atom, attachment point or R-group, not a real atom: {where}",
    ),
    "radical": Rule(
        "unpaired electrons (`C[CH2]`, `[C]`)",
        REJECT,
        "a radical, not a ligand: {where} (inside [ ] every hydrogen must be written)",
    ),
    "no_heavy_atoms": Rule("no heavy atom (`[H][H]`)", REJECT, "molecule has no heavy atoms"),
    "no_organic": Rule(
        "no carbon left after salt stripping (`[Na+].[Cl-]`, water, metal ions)",
        REJECT,
        "no organic component: {smiles} has no carbon atom; salts, ions and water are not ligands",
    ),
    "non_salt_fragment": Rule(
        "a smaller fragment with an element no salt has (ferrocene's Fe)",
        REJECT,
        "would drop a component containing {elements}; submit the intended molecule alone",
    ),
    # -- accepted, said on the row
    "salt_stripped": Rule(
        "several fragments (salts, solvates): the largest organic one is run",
        WARN,
        "kept the largest of {count} fragments (salts/solvents removed: {removed})",
    ),
    "large_fragment_removed": Rule(
        "a removed fragment as large as the kept one",
        WARN,
        "the removed {fragment} is as large as the kept molecule: check it is the ligand you meant",
    ),
    "stereo_ignored": Rule(
        "stereo marks that define nothing (`C[C@H](C)C`, `C/C=C`)", WARN, "stereo marks ignored: {where}"
    ),
    "isotope": Rule("isotopes (`[13CH4]`, `[2H]C`)", ACCEPT, "kept as written"),
    # -- each model's Limits (omtx/predictors): the only per-model differences
    "too_large": Rule(
        "more heavy atoms than the model accepts", REJECT, "{heavy} heavy atoms; this model accepts at most {limit}"
    ),
    "elements": Rule(
        "elements the model cannot handle (vina: B, metals)",
        REJECT,
        "element(s) {elements} cannot be handled by this model",
    ),
    "training_range": Rule(
        "above the model's training range",
        WARN,
        "{heavy} heavy atoms is above {limit}, outside the model's training range",
    ),
}


class LigandRejected(ValueError):
    """One SMILES string could not become a molecule."""


def apply(key: str, warnings: list[str], **fields: object) -> None:
    """Report one finding through the policy: refuse the row, or note a warning on it."""
    rule = LIGAND_POLICY[key]
    if rule.verdict is Verdict.REJECT:
        raise LigandRejected(rule.message.format(**fields))
    if rule.verdict is Verdict.WARN:
        warnings.append(rule.message.format(**fields))


def refuse(key: str, **fields: object) -> NoReturn:
    """For findings after which there is nothing to run: always a refusal."""
    raise LigandRejected(LIGAND_POLICY[key].message.format(**fields))
