"""What Boltz-2 is given: one YAML per ligand and the one `boltz predict` command per chunk
(research/MODELS.md A.2, A.4), and the input limits Boltz enforces. Pure: nothing here touches
the file system."""

from __future__ import annotations

from pathlib import Path

from omtx.predictors.boltz2.params import Boltz2Params

PROTEIN_CHAIN = "A"
LIGAND_CHAIN = "B"
# Boltz names its results folder after the input directory: boltz_results_<name>.
INPUT_DIR_NAME = "inputs"
# schema.py: affinity ligands above 128 heavy atoms are an error, above 56 a warning.
AFFINITY_MAX_HEAVY_ATOMS = 128
AFFINITY_WARN_HEAVY_ATOMS = 56


def ligand_yaml(sequence: str, smiles: str, msa: Path | None, *, affinity: bool) -> str:
    """One complex: the protein with its MSA (or single-sequence mode) and the ligand by SMILES.

    Boltz opens `msa:` relative to its working directory, not the YAML's, so the path must be
    absolute (research/MODELS.md A.2)."""
    # Imported here: the registry imports this module in images that have no YAML library.
    import yaml

    if msa is not None and not msa.is_absolute():
        raise ValueError(f"the MSA path must be absolute: {msa}")
    protein = {"id": PROTEIN_CHAIN, "sequence": sequence, "msa": str(msa) if msa else "empty"}
    document: dict[str, object] = {
        "version": 1,
        "sequences": [{"protein": protein}, {"ligand": {"id": LIGAND_CHAIN, "smiles": smiles}}],
    }
    if affinity:
        document["properties"] = [{"affinity": {"binder": LIGAND_CHAIN}}]
    return yaml.safe_dump(document, sort_keys=False, width=10_000)


def predict_command(
    executable: str,
    input_dir: Path,
    out_dir: Path,
    params: Boltz2Params,
    *,
    cache: Path | None = None,
    use_kernels: bool = True,
    preprocessing_threads: int = 4,
) -> list[str]:
    """`boltz predict` over a directory of YAMLs, so the weights load once per chunk. out_dir
    must be fresh: without --override Boltz reuses whatever an earlier run left there (A.8).
    The preprocessing pool is sized here: Boltz's default is the machine's CPU count, which in
    a container is the host's."""
    command = [
        executable,
        "predict",
        str(input_dir),
        "--out_dir",
        str(out_dir),
        "--accelerator",
        "gpu",
        "--devices",
        "1",
        "--output_format",
        "mmcif",
        "--recycling_steps",
        str(params.recycling_steps),
        "--sampling_steps",
        str(params.sampling_steps),
        "--diffusion_samples",
        str(params.diffusion_samples),
        "--step_scale",
        str(params.step_scale),
        "--max_msa_seqs",
        str(params.max_msa_seqs),
        "--seed",
        str(params.seed),
        "--preprocessing-threads",
        str(preprocessing_threads),
    ]
    if params.affinity:
        command += [
            "--sampling_steps_affinity",
            str(params.sampling_steps_affinity),
            "--diffusion_samples_affinity",
            str(params.diffusion_samples_affinity),
        ]
        if params.affinity_mw_correction:
            command.append("--affinity_mw_correction")
    if params.use_potentials:
        command.append("--use_potentials")
    if cache is not None:
        command += ["--cache", str(cache)]
    if not use_kernels:
        command.append("--no_kernels")
    return command


def results_dir(out_dir: Path, input_dir: Path) -> Path:
    return out_dir / f"boltz_results_{input_dir.stem}"
