"""The worker: runs one chunk of ligands through a model, stores each ligand's outputs and
publishes its `job-done`. The Modal app and the local executor call the same function."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omtx import __version__, depiction, fault_injection, logs, structures, tracing
from omtx.domain import ProteinIn, utcnow
from omtx.events import JobDone, JobsDone
from omtx.predictors.base import ChunkPredictor, LigandTask, ModelSpec, Prediction, PredictionFailed, Predictor
from omtx.predictors.registry import get_model, load_predictor

log = logging.getLogger(__name__)


class WorkOrder(BaseModel):
    """One worker call: a chunk of one batch's ligands, so the model loads once per chunk."""

    batch_id: str
    # The batch's tenant: the worker reads only that tenant's structures, whatever the order names.
    tenant: str = ""
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    protein: ProteinIn
    ligands: list[LigandTask] = Field(min_length=1)
    executor: str
    call_id: str | None = None
    # The trace of the dispatch that created the order: the worker runs in another process (or on
    # Modal) and continues it, so its job-done reports carry it on to complete.
    traceparent: str | None = Field(default_factory=tracing.current_traceparent)


def job_prefix(batch_id: str, job_id: str) -> str:
    return f"batches/{batch_id}/jobs/{job_id}"


def run_work_order(order: WorkOrder) -> list[JobDone]:
    """Runs the chunk's ligands one after another (the model is the scarce resource) and hands
    each finished ligand to a small thread pool that stores its files; the reporter publishes
    finished ligands in groups, so I/O overlaps the next prediction and a fast model does not
    pay one message per ligand."""
    # The trace's ids only: spans are exported by the services, and the Modal image carries no exporter.
    with tracing.continued(order.traceparent), logs.bind(batch_id=order.batch_id):
        return _run_order(order)


def _run_order(order: WorkOrder) -> list[JobDone]:
    if order.call_id is None:  # not started by an executor (a test): nothing holds a lease
        return _run_chunk_order(order)
    from omtx.heartbeat import CallLease

    lease = CallLease(order.batch_id, order.call_id)
    finished = False
    try:
        results = _run_chunk_order(order, published=lease.report, cancelled=lease.cancelled)
        finished = True
        return results
    finally:
        # A call that raised is not finished: its lease lapses and the reconciler takes it back.
        lease.close(finished=finished)


def _run_chunk_order(
    order: WorkOrder,
    published: Callable[[list[str]], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[JobDone]:
    spec = get_model(order.model)
    params = spec.params.model_validate(order.params)
    predictor = load_predictor(order.model)
    reporter = Reporter(order.batch_id, on_published=published)
    try:
        order = order.model_copy(update={"protein": structure_as_text(order)})
    except PredictionFailed as exc:
        outcomes: Iterator[LigandOutcome] = iter(refused(order, str(exc)))
    else:
        outcomes = (
            run_chunk(predictor, order, params)
            if isinstance(predictor, ChunkPredictor)
            else (run_one(predictor, order, task, params) for task in order.ligands)
        )
    if cancelled is not None:
        from omtx.heartbeat import until_cancelled

        # What the call stored before it knew is removed when it is settled (usecases/recovery.py).
        outcomes = until_cancelled(outcomes, cancelled, order.batch_id)
    try:
        with ThreadPoolExecutor(max_workers=REPORT_THREADS, thread_name_prefix="omtx-report") as pool:
            futures = []
            for outcome in outcomes:
                # Each task runs in a copy of this context: its log lines carry the trace and batch.
                future = pool.submit(contextvars.copy_context().run, store_outputs, order, spec, params, outcome)
                future.add_done_callback(reporter.add)
                futures.append(future)
            results = [future.result() for future in futures]
    finally:
        # Whatever happened, every finished ligand's report goes out before the call ends.
        reporter.close()
    return results


def structure_as_text(order: WorkOrder) -> ProteinIn:
    """The order's structure, read from storage only when it is its tenant's and intact."""
    uri = order.protein.structure
    if uri is None or not uri.startswith("gs://"):
        return order.protein
    from omtx.gcp import storage
    from omtx.settings import get_settings

    stored = structures.usable_by(uri, order.tenant, get_settings().inputs_bucket)
    if stored is None:
        raise PredictionFailed(f"refused: protein.structure {uri} is not a structure of this batch's tenant")
    data = storage.get_bytes(uri)
    if hashlib.sha256(data).hexdigest() != stored.digest:
        raise PredictionFailed(f"refused: {uri} does not match its sha256")
    return order.protein.model_copy(update={"structure": data.decode()})


def refused(order: WorkOrder, error: str) -> list[LigandOutcome]:
    """Every ligand of an order the worker will not run, failed with why."""
    now = utcnow()
    return [
        LigandOutcome(task=task, prediction=None, error=error, trace="", started_at=now, duration_s=0.0)
        for task in order.ligands
    ]


def run_one(predictor: Predictor, order: WorkOrder, task: LigandTask, params: BaseModel) -> LigandOutcome:
    started_at = utcnow()
    clock = time.perf_counter()
    prediction: Prediction | None = None
    error: str | None = None
    trace = ""
    try:
        prediction = predictor.predict(order.protein, task, params)
    except PredictionFailed as exc:
        error = str(exc)
    except Exception as exc:  # one bad ligand must not take its chunk down with it
        error = f"model error: {type(exc).__name__}: {exc}"
        trace = traceback.format_exc()
    return LigandOutcome(
        task=task,
        prediction=prediction,
        error=error,
        trace=trace,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 4),
    )


def run_chunk(predictor: ChunkPredictor, order: WorkOrder, params: BaseModel) -> Iterator[LigandOutcome]:
    """Outcomes of a chunk-level model, one per ligand of the order whatever the model yields:
    a ligand it yields twice or not at all cannot be counted twice or lost."""
    waiting = {task.job_id: task for task in order.ligands}
    started_at = utcnow()
    clock = time.perf_counter()
    error: str | None = None
    trace = ""
    try:
        for task, result in predictor.predict_chunk(order.protein, order.ligands, params):
            if waiting.pop(task.job_id, None) is None:
                continue
            duration = round(time.perf_counter() - clock, 4)
            failed = isinstance(result, PredictionFailed)
            yield LigandOutcome(
                task=task,
                prediction=None if failed else result,
                error=str(result) if failed else None,
                trace="",
                started_at=started_at,
                duration_s=duration,
            )
            started_at, clock = utcnow(), time.perf_counter()
    except Exception as exc:  # the tool crashed: every ligand it had not finished fails with why
        error, trace = f"model error: {type(exc).__name__}: {exc}", traceback.format_exc()
    for task in waiting.values():
        yield LigandOutcome(
            task=task,
            prediction=None,
            error=error or "model error: the model finished without an outcome for this ligand",
            trace=trace,
            started_at=started_at,
            duration_s=round(time.perf_counter() - clock, 4),
        )


class Reporter:
    """Publishes finished ligands' job-done reports in groups: whatever finished within
    FLUSH_S of the first waiting report, at most GROUP_MAX per message. A slow model's ligands
    are each published within FLUSH_S; a fast model's share messages."""

    FLUSH_S = 0.2
    GROUP_MAX = 100
    PUBLISH_ATTEMPTS = 4

    def __init__(self, batch_id: str, on_published: Callable[[list[str]], None] | None = None) -> None:
        self.batch_id = batch_id
        self._on_published = on_published
        self._pending: list[JobDone] = []
        self._lock = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        # A thread starts with an empty context: the reports it publishes carry the caller's trace.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name="omtx-reporter", daemon=True)
        self._thread.start()

    def add(self, future: Future[JobDone]) -> None:
        if future.exception() is not None:
            return  # raised to the caller by future.result()
        with self._lock:
            self._pending.append(future.result())
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._lock.wait()
                if not self._pending and self._closed:
                    return
                # Collect until the group is full, the call ends, or FLUSH_S has passed since
                # the first waiting report (notify() wakes the wait early; the deadline holds).
                deadline = time.monotonic() + self.FLUSH_S
                while not self._closed and len(self._pending) < self.GROUP_MAX:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                group, self._pending = self._pending[: self.GROUP_MAX], self._pending[self.GROUP_MAX :]
            self._publish(group)

    def _publish(self, group: list[JobDone]) -> None:
        from omtx.gcp import pubsub
        from omtx.settings import get_settings

        for attempt in range(self.PUBLISH_ATTEMPTS):
            try:
                pubsub.publish(get_settings().topic_job_done, [JobsDone(batch_id=self.batch_id, results=group)])
                if self._on_published is not None:
                    self._on_published([done.job_id for done in group])
                return
            except Exception as exc:
                if attempt + 1 == self.PUBLISH_ATTEMPTS:
                    # Surfaced by close(); the call's lease lapses and the reconciler records
                    # these jobs from their stored results.json.
                    self._error = exc
                    log.exception("publishing %d job-done reports of batch %s failed", len(group), self.batch_id)
                else:
                    time.sleep(2**attempt)


REPORT_THREADS = 8


class LigandOutcome(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: LigandTask
    prediction: Prediction | None
    error: str | None
    trace: str
    started_at: datetime
    duration_s: float

    @property
    def status(self) -> Literal["succeeded", "failed"]:
        return "succeeded" if self.error is None else "failed"


def store_outputs(order: WorkOrder, spec: ModelSpec, params: BaseModel, outcome: LigandOutcome) -> JobDone:
    """Store one ligand's files and return its report; it is published only after this, so
    outputs exist before the job counts."""
    # GCP adapters are imported here so the model code stays importable without them.
    from omtx.gcp import storage
    from omtx.settings import get_settings

    settings = get_settings()
    task = outcome.task
    prefix = job_prefix(order.batch_id, task.job_id)
    bucket = settings.results_bucket
    files: dict[str, str] = {}
    if outcome.prediction is not None:
        for name, (content, media_type) in outcome.prediction.files.items():
            files[name] = storage.put_bytes(bucket, f"{prefix}/{name}", content, media_type)
    if spec.depicts_ligand and (svg := depiction.drawing_or_none(task.canonical_smiles)) is not None:
        files[depiction.FILE_NAME] = storage.put_bytes(
            bucket, f"{prefix}/{depiction.FILE_NAME}", svg.encode(), depiction.MEDIA_TYPE
        )
    model_log = outcome.prediction.log if outcome.prediction else ""
    # A design job's subject is its design run; it has no molecule to name.
    subject = (
        {"design": task.design.model_dump()}
        if task.design is not None
        else {"ligand": task.model_dump(exclude={"claim_token", "shard", "design"})}
    )
    if outcome.error or model_log:
        # Only when there is something to read: a failure, a traceback or the tool's own output.
        logs = (
            f"{outcome.started_at.isoformat()} {spec.name} {spec.version} job={task.job_id} "
            f"{'design' if task.design else 'ligand'}={task.name}\n"
            f"status={outcome.status} duration_s={outcome.duration_s}\n"
            + (f"error: {outcome.error}\n" if outcome.error else "")
            + outcome.trace
            + model_log
        )
        files["logs.txt"] = storage.put_bytes(bucket, f"{prefix}/logs.txt", logs.encode(), "text/plain")
    metrics = outcome.prediction.metrics if outcome.prediction else {}
    metadata = {
        "batch_id": order.batch_id,
        "job_id": task.job_id,
        "model": spec.name,
        "model_version": spec.version,
        "params": params.model_dump(),
        **subject,
        "protein_id": order.protein.id,
        "protein_sha256": hashlib.sha256(order.protein.sequence.encode()).hexdigest(),
        "executor": order.executor,
        "call_id": order.call_id,
        "host": socket.gethostname(),
        "omtx_version": __version__,
        "started_at": outcome.started_at.isoformat(),
        "duration_s": outcome.duration_s,
    }
    files["metadata.json"] = storage.put_bytes(
        bucket, f"{prefix}/metadata.json", json.dumps(metadata).encode(), "application/json"
    )
    result = {
        "batch_id": order.batch_id,
        "job_id": task.job_id,
        "model": spec.name,
        "model_version": spec.version,
        **subject,
        "status": outcome.status,
        "metrics": metrics,
        "raw": outcome.prediction.raw if outcome.prediction else None,
        "error": outcome.error,
        "files": files,
        "duration_s": outcome.duration_s,
    }
    result_uri = storage.put_bytes(bucket, f"{prefix}/results.json", json.dumps(result).encode(), "application/json")
    event = JobDone(
        batch_id=order.batch_id,
        job_id=task.job_id,
        status=outcome.status,
        shard=task.shard,
        claim_token=task.claim_token,
        metrics=metrics,
        result_uri=result_uri,
        files=files,
        error=outcome.error,
        executor=order.executor,
        call_id=order.call_id,
        duration_s=outcome.duration_s,
    )
    return event


def run_work_order_json(payload: str) -> int:
    """Entry point for process pools and Modal: JSON in, number of ligands handled out."""
    fault_injection.arm_worker_crash()
    return len(run_work_order(WorkOrder.model_validate_json(payload)))
