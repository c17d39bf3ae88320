"""The RFantibody predictor: one design job, the three CLIs of the published pipeline in turn,
each reading the Quiver the previous one wrote, then RF2's scores as filtered design rows.

    rfdiffusion → 1_rfdiffusion.qv → proteinmpnn → 2_proteinmpnn.qv → rf2 → 3_rf2.qv

The CLIs run as subprocesses through an injected runner, so the whole path runs in tests with
fake tools; a step that fails, times out or writes nothing fails the job with the reason."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from omtx import spreadsheet
from omtx.domain import ProteinIn
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed, StructureView
from omtx.predictors.posecheck import with_pose_check
from omtx.predictors.rfantibody.commands import (
    RFANTIBODY_COMMIT,
    RFANTIBODY_REPO,
    Install,
    Layout,
    proteinmpnn_command,
    rf2_command,
    rfdiffusion_command,
    tool_env,
)
from omtx.predictors.rfantibody.filters import filter_definition
from omtx.predictors.rfantibody.inputs import InputProblem, check_target
from omtx.predictors.rfantibody.outputs import (
    OutputProblem,
    QuiverEntry,
    error_line,
    known_error,
    mpnn_failures,
    parse_quiver,
)
from omtx.predictors.rfantibody.params import RfantibodyParams
from omtx.predictors.rfantibody.results import Designs, best_row, design_rows, designs_csv, summary_metrics

LOG_TAIL = 256 * 1024  # what of the tools' output is kept as the job's log
# The best design (always among the kept structures) with its target: chains H, L and T.
STRUCTURE = StructureView("{best_tag}.pdb", kind="protein_complex")


@dataclass(frozen=True)
class StepRun:
    returncode: int
    output: str  # stdout and stderr, interleaved
    timed_out: bool = False


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float) -> StepRun: ...


def subprocess_runner(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float) -> StepRun:
    """Runs one CLI in its own process group: the wrappers start the real script as a child,
    which a timeout must kill too."""
    import signal
    import subprocess

    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return StepRun(127, f"{argv[0]}: {exc}")
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return StepRun(process.returncode, output or "", timed_out=True)
    return StepRun(process.returncode, output or "")


STAND_IN_NOTE = (
    "CPU stand-in of RFdiffusion, ProteinMPNN and RF2 (omtx.predictors.rfantibody.standin): made-up designs "
    "and scores in the tools' file formats, for tests only; not RFantibody output"
)


class RFAntibody:
    def __init__(
        self,
        runner: Runner | None = None,
        install: Install | None = None,
        env: Mapping[str, str] | None = None,
        stand_in: bool = False,
    ) -> None:
        base = dict(os.environ if env is None else env)
        self.install = install if install is not None else Install.from_env(base)
        self.runner: Runner = runner if runner is not None else subprocess_runner
        self.env = tool_env(self.install, base)
        # True when `runner` is the CPU stand-in: every result says so.
        self.stand_in = stand_in

    def predict(self, protein: ProteinIn, ligand: LigandTask, params: BaseModel) -> Prediction:
        assert isinstance(params, RfantibodyParams)
        if not protein.structure:
            raise PredictionFailed("rfantibody needs the target structure (protein.structure: PDB text or gs:// URI)")
        target = protein.structure
        try:
            check_target(target, params.hotspot_list)
        except InputProblem as exc:
            raise PredictionFailed(f"target: {exc}") from None
        with tempfile.TemporaryDirectory(prefix="omtx-rfantibody-") as tmp:
            layout = Layout(Path(tmp))
            layout.target.parent.mkdir(parents=True)
            layout.target.write_text(target)
            if params.framework_pdb is not None:
                layout.framework.write_text(params.framework_pdb)
                framework = layout.framework
            else:
                framework = self.install.framework(params.framework)
            return self._run(layout, framework, ligand, params)

    def _run(self, layout: Layout, framework: Path, task: LigandTask, params: RfantibodyParams) -> Prediction:
        run = task.design
        if run is not None:
            # A design job of POST /v1/designs: its slice of the campaign, its own seed.
            params = params.model_copy(update={"num_designs": run.num_designs, "rf2_seed": run.seed})
            first = run.first_design
        else:
            # A job of a batch: its index numbers its designs (distinct tags and seeds).
            first = task.index * params.num_designs
        steps = (
            ("rfdiffusion", rfdiffusion_command(params, self.install, layout, framework, first), layout.backbones),
            ("proteinmpnn", proteinmpnn_command(params, self.install, layout), layout.sequences),
            ("rf2", rf2_command(params, self.install, layout), layout.predictions),
        )
        deadline = time.monotonic() + params.timeout_s
        log: list[str] = []
        timings: list[dict[str, Any]] = []
        quivers: list[list[QuiverEntry]] = []
        mpnn_failed: dict[str, str] = {}
        for name, argv, output in steps:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PredictionFailed(f"{name} not started: the job's {params.timeout_s} s budget is spent")
            started = time.monotonic()
            step = self.runner(argv, cwd=layout.workdir, env=self.env, timeout_s=left)
            took = time.monotonic() - started
            log.append(f"$ {' '.join(argv)}\n{step.output}\n[{name}: exit {step.returncode}, {took:.1f} s]\n")
            timings.append({"step": name, "seconds": round(took, 3), "exit": step.returncode})
            if name == "proteinmpnn":
                mpnn_failed = mpnn_failures(step.output)
            entries = step_outcome(name, step, output, params.timeout_s)
            quivers.append(entries)
        designs = design_rows(quivers[0], quivers[1], quivers[2], params, mpnn_failed)
        return prediction(designs, params, "".join(log)[-LOG_TAIL:], timings, self.stand_in)


def step_outcome(name: str, run: StepRun, output: Path, budget_s: int) -> list[QuiverEntry]:
    """The entries a step wrote, or PredictionFailed saying why there are none to go on with."""
    if run.timed_out:
        raise PredictionFailed(f"{name} timed out (the job's budget is {budget_s} s)")
    reason = known_error(run.output)
    if reason is not None:
        raise PredictionFailed(f"{name}: {reason}: {error_line(run.output)}")
    if run.returncode != 0:
        raise PredictionFailed(f"{name} exited with status {run.returncode}: {error_line(run.output)}")
    # ProteinMPNN exits 0 when every backbone failed; its Quiver is then never created.
    failures = mpnn_failures(run.output)
    why = f" (every backbone failed, e.g. {next(iter(failures.values()))})" if failures else ""
    if not output.exists():
        raise PredictionFailed(f"{name} exited 0 but wrote no {output.name}{why}")
    try:
        entries = parse_quiver(output.read_text(errors="replace"))
    except OutputProblem as exc:
        raise PredictionFailed(f"{name} wrote an unreadable {output.name}: {exc}") from None
    if not entries:
        raise PredictionFailed(f"{name} wrote no designs to {output.name}{why}")
    return entries


def prediction(
    designs: Designs, params: RfantibodyParams, log: str, timings: list[dict[str, Any]], stand_in: bool = False
) -> Prediction:
    if not any(r["status"] == "predicted" for r in designs.rows):
        raise PredictionFailed("RF2 reported no scores for any design")
    best = best_row(designs.rows)
    keep = {
        "all": set(designs.structures),
        "passing": {r["tag"] for r in designs.rows if r["passes_filters"]},
        "best": set(),
    }[params.return_structures]
    if best is not None:
        keep.add(best["tag"])
    files: dict[str, tuple[bytes, str]] = {"designs.csv": (designs_csv(designs.rows), spreadsheet.MEDIA_TYPE)}
    for tag in sorted(keep):
        files[f"{tag}.pdb"] = (designs.structures[tag].encode(), "chemical/x-pdb")
    raw: dict[str, Any] = {
        "tool": {"repository": RFANTIBODY_REPO, "commit": RFANTIBODY_COMMIT}
        if not stand_in
        else {"stand_in": STAND_IN_NOTE},
        "filters": filter_definition(params),
        "designs": designs.rows,
        "mpnn_failed_backbones": designs.mpnn_failed,
        # measured per step: what the cost model's assumed figures should be replaced with
        "steps": timings,
    }
    # fail here, not in the worker's json.dumps, if a value ever is not JSON
    json.dumps(raw, allow_nan=False)
    # The best design against its target: the report shows it, PoseBusters checks the interface.
    return with_pose_check(
        Prediction(metrics=summary_metrics(designs, params), files=files, raw=raw, log=log), STRUCTURE, None
    )


def check_structure(protein: ProteinIn, params: BaseModel) -> str | None:
    """Submit-time check of the target against the hotspots, so a typo is a 422, not a GPU job."""
    assert isinstance(params, RfantibodyParams) and protein.structure is not None
    try:
        check_target(protein.structure, params.hotspot_list)
    except InputProblem as exc:
        return str(exc)
    return None


def create() -> RFAntibody:
    """The real tools, unless the deployment runs the CPU stand-in (tests and the local stack
    only: settings.rfantibody_standin)."""
    from omtx.settings import get_settings

    if get_settings().rfantibody_standin:
        from omtx.predictors.rfantibody.standin import standin_runner

        return RFAntibody(runner=standin_runner, install=Install(), stand_in=True)
    return RFAntibody()
