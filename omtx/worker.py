"""The worker: runs one chunk of ligands through a model, stores each ligand's outputs and
publishes its `job-done`. The Modal app and the local executor call the same function."""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from pydantic import BaseModel, Field

from omtx.domain import ProteinIn, utcnow
from omtx.events import JobDone
from omtx.predictors.base import LigandTask, Prediction, PredictionFailed
from omtx.predictors.registry import get_model, load_predictor

log = logging.getLogger(__name__)


class WorkOrder(BaseModel):
    """One worker call: a chunk of one batch's ligands, so the model loads once per chunk."""

    batch_id: str
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    protein: ProteinIn
    ligands: list[LigandTask] = Field(min_length=1)
    executor: str
    call_id: str | None = None


def job_prefix(batch_id: str, job_id: str) -> str:
    return f"batches/{batch_id}/jobs/{job_id}"


def run_work_order(order: WorkOrder) -> list[JobDone]:
    # GCP adapters are imported here, not at module level, so the model code stays importable
    # (and testable) without them.
    from omtx.gcp import pubsub, storage
    from omtx.settings import get_settings

    settings = get_settings()
    spec = get_model(order.model)
    params = spec.params.model_validate(order.params)
    predictor = load_predictor(order.model)
    outcomes: list[JobDone] = []
    for task in order.ligands:
        started = time.perf_counter()
        prefix = job_prefix(order.batch_id, task.job_id)
        prediction: Prediction | None = None
        error: str | None = None
        logs = f"{utcnow().isoformat()} {spec.name} {spec.version} job={task.job_id} ligand={task.name}\n"
        try:
            prediction = predictor.predict(order.protein, task, params)
        except PredictionFailed as exc:
            error = str(exc)
        except Exception as exc:  # one bad ligand must not take its chunk down with it
            error = f"model error: {type(exc).__name__}: {exc}"
            logs += traceback.format_exc()
        duration = round(time.perf_counter() - started, 4)
        files: dict[str, str] = {}
        if prediction is not None:
            for name, (content, media_type) in prediction.files.items():
                files[name] = storage.put_bytes(settings.results_bucket, f"{prefix}/{name}", content, media_type)
        logs += f"status={'succeeded' if error is None else 'failed'} duration_s={duration}\n"
        if error:
            logs += f"error: {error}\n"
        files["logs.txt"] = storage.put_bytes(
            settings.results_bucket, f"{prefix}/logs.txt", logs.encode(), "text/plain"
        )
        result = {
            "batch_id": order.batch_id,
            "job_id": task.job_id,
            "model": spec.name,
            "model_version": spec.version,
            "params": params.model_dump(),
            "ligand": task.model_dump(),
            "status": "succeeded" if error is None else "failed",
            "metrics": prediction.metrics if prediction else {},
            "error": error,
            "files": files,
            "duration_s": duration,
        }
        result_uri = storage.put_bytes(
            settings.results_bucket, f"{prefix}/results.json", json.dumps(result).encode(), "application/json"
        )
        event = JobDone(
            batch_id=order.batch_id,
            job_id=task.job_id,
            status="succeeded" if error is None else "failed",
            metrics=prediction.metrics if prediction else {},
            result_uri=result_uri,
            files=files,
            error=error,
            executor=order.executor,
            call_id=order.call_id,
            duration_s=duration,
        )
        # Outputs are stored before the job can count: publish only after the writes above.
        pubsub.publish(settings.topic_job_done, [event])
        outcomes.append(event)
    return outcomes


def run_work_order_json(payload: str) -> int:
    """Entry point for process pools and Modal: JSON in, number of ligands handled out."""
    return len(run_work_order(WorkOrder.model_validate_json(payload)))
