"""Model registry on MLflow: tracking runs plus the MLflow model registry.

By default everything lives in a local folder (``./mlruns``, or ``root=`` /
``$ALPHAPULSE_MLRUNS``): the SQLite tracking + registry database ``mlruns.db`` (MLflow's
registry needs a database-backed store) and an ``artifacts/`` folder. Pass
``tracking_uri`` (e.g. ``sqlite:///path/mlruns.db`` or an ``http://`` server) to use
another store.

``register`` logs one run per model (params, metrics, tags, the saved model folder under
``model/`` and the full metadata as ``metadata.json``) and creates a new version of the
registered model ``name``: versions start at 1 and increase by one. ``load`` downloads
the artifacts and rebuilds the model with :func:`~alphapulse.ml.models.base.load_model`,
so predictions are bit-identical to the registered model's. Loading unpickles (joblib),
which can run code: ``register`` records the SHA-256 of the artifacts as the version's
``artifact_sha256`` tag and ``load`` refuses artifacts whose hash differs (or is missing).

MLflow is kept quiet and offline: telemetry is disabled (``MLFLOW_DISABLE_TELEMETRY``,
``DO_NOT_TRACK``) and the artifact progress bars are off, unless the caller set those
environment variables; mlflow is only imported when a registry is first used.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import math
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from alphapulse.ml.models.base import Model, json_default, load_model

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from mlflow.tracking import MlflowClient

EXPERIMENT = "alphapulse-models"
_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
#: What a registered model name may be (a config's ``name`` field checks it too).
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$"
_NAME = re.compile(MODEL_NAME_PATTERN)
_MAX_PARAM = 6000
#: Model-version tag holding the SHA-256 of the artifacts, recorded at registration.
SHA_TAG = "artifact_sha256"


class ModelMetadata(BaseModel):
    """What a registered model was trained on; extra keys are kept."""

    model_config = ConfigDict(extra="allow")

    feature_set: str
    feature_set_version: str | int
    params: dict[str, Any] = Field(default_factory=dict)
    train_start: datetime | date | str
    train_end: datetime | date | str
    data_hash: str
    metrics: dict[str, float] = Field(default_factory=dict)
    code_version: str | None = None


class Artifact(Protocol):
    """What ``register`` stores: a ``kind`` and a ``save(folder)`` (every ``Model``)."""

    kind: str

    def save(self, path: Path | str) -> None: ...


T = TypeVar("T")


@dataclass(frozen=True)
class RegistryEntry:
    """One registered version: its metadata as JSON types (dates as ISO strings)."""

    name: str
    version: int
    run_id: str
    created: datetime
    metadata: dict[str, Any]


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


class ModelRegistry:
    """Register, list and load models with their training metadata (see module doc)."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        root: Path | str | None = None,
        experiment: str = EXPERIMENT,
    ) -> None:
        self.root = Path(root or os.environ.get("ALPHAPULSE_MLRUNS", "mlruns")).resolve()
        self.tracking_uri = tracking_uri or f"sqlite:///{self.root / 'mlruns.db'}"
        self.experiment = experiment
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client (created, with the experiment, on first use)."""
        if self._client is None:
            for key, value in _QUIET_ENV.items():
                os.environ.setdefault(key, value)
            from mlflow.tracking import MlflowClient

            artifacts: str | None = None
            if self.tracking_uri.startswith("sqlite:///") and self.tracking_uri.endswith(".db"):
                db = Path(self.tracking_uri.removeprefix("sqlite:///"))
                db.parent.mkdir(parents=True, exist_ok=True)
                artifacts = (db.parent / "artifacts").as_uri()
            with (
                _quiet_logger("mlflow.store.db.utils"),
                _quiet_logger("alembic"),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore", DeprecationWarning)  # SQLAlchemy, in mlflow
                client = MlflowClient(
                    tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
                exp = client.get_experiment_by_name(self.experiment)
            self._experiment_id = (
                exp.experiment_id
                if exp is not None
                else client.create_experiment(self.experiment, artifact_location=artifacts)
            )
            self._client = client
        return self._client

    def register(
        self, model: Artifact, name: str, metadata: Mapping[str, Any] | ModelMetadata
    ) -> int:
        """Log ``model`` with ``metadata`` and add it as the next version of ``name``."""
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException

        _check_name(name)
        meta = ModelMetadata.model_validate(
            metadata.model_dump() if isinstance(metadata, ModelMetadata) else dict(metadata)
        ).model_dump(mode="json", fallback=json_default)
        client = self.client
        assert self._experiment_id is not None
        tags = {
            "feature_set": str(meta["feature_set"]),
            "feature_set_version": str(meta["feature_set_version"]),
            "data_hash": meta["data_hash"],
            "code_version": str(meta["code_version"]),
            "train_start": meta["train_start"],
            "train_end": meta["train_end"],
            "model_class": type(model).__name__,
            "model_kind": model.kind,
        }
        run = client.create_run(self._experiment_id, run_name=name, tags=tags)
        run_id = run.info.run_id
        try:
            with tempfile.TemporaryDirectory(prefix="alphapulse-model-") as tmp:
                model.save(Path(tmp) / "model")
                (Path(tmp) / "metadata.json").write_text(json.dumps(meta, indent=1))
                tags[SHA_TAG] = artifact_sha256(Path(tmp))
                client.set_tag(run_id, SHA_TAG, tags[SHA_TAG])
                client.log_batch(
                    run_id,
                    metrics=[
                        Metric(_key(k), float(v), 0, 0)
                        for k, v in meta["metrics"].items()
                        if math.isfinite(v)
                    ],
                    params=[
                        Param(_key(k), json.dumps(v)[:_MAX_PARAM])
                        for k, v in meta["params"].items()
                    ],
                    tags=[RunTag("mlflow.source.git.commit", str(meta["code_version"]))],
                )
                client.log_artifacts(run_id, tmp)
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id)
        try:
            client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        source = f"{run.info.artifact_uri}/model"
        mv = client.create_model_version(name, source=source, run_id=run_id, tags=tags)
        return int(mv.version)

    def load(
        self, name: str, version: int | Literal["latest"] = "latest"
    ) -> tuple[Model, dict[str, Any]]:
        """The model and its metadata (JSON types) of ``name`` at ``version``. The
        artifacts are deserialized (joblib/pickle may run code) only when their SHA-256
        equals the one recorded at registration; otherwise ``ValueError``."""
        return self.load_with(load_model, name, version)

    def load_with(
        self, loader: Callable[[Path], T], name: str, version: int | Literal["latest"] = "latest"
    ) -> tuple[T, dict[str, Any]]:
        """``load`` with another reader of the ``model/`` folder (e.g. RL policies), called
        only after the artifacts' SHA-256 matched the recorded one."""
        entry = self._version(name, version)
        what = f"model {name!r} version {entry.version}"
        recorded = self.client.get_model_version(name, str(entry.version)).tags.get(SHA_TAG)
        if not recorded:
            raise ValueError(f"{what} has no recorded artifact SHA-256; register it again")
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="alphapulse-model-") as tmp:
            try:
                local = Path(self.client.download_artifacts(entry.run_id, "", tmp))
            except (MlflowException, OSError) as exc:  # e.g. a link leaving the store
                why = " ".join(str(exc).split())
                raise ValueError(f"{what}: artifacts cannot be read, not loaded: {why}") from None
            found = artifact_sha256(local)
            if not hmac.compare_digest(found, recorded):
                raise ValueError(
                    f"{what}: artifact SHA-256 {found[:16]}... differs from the recorded "
                    f"{recorded[:16]}...; the artifacts changed after registration, not loaded"
                )
            model = loader(local / "model")
            meta = json.loads((local / "metadata.json").read_text())
        return model, meta

    def versions(self, name: str) -> builtins.list[int]:
        """Registered version numbers of ``name``, ascending ([] if none)."""
        _check_name(name)
        found = self.client.search_model_versions(f"name='{name}'")
        return sorted(int(v.version) for v in found)

    def _version(self, name: str, version: int | Literal["latest"]) -> RegistryEntry:
        _check_name(name)
        if version == "latest":
            known = self.versions(name)
            if not known:
                raise KeyError(f"no registered model named {name!r}")
            version = known[-1]
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version(name, str(int(version)))
        except MlflowException:
            raise KeyError(f"{name!r} has no version {version}") from None
        return RegistryEntry(name, int(mv.version), str(mv.run_id), _ts(mv.creation_timestamp), {})

    def list(self, name: str) -> builtins.list[RegistryEntry]:
        """Every version of ``name`` with its metadata, ascending by version."""
        out = []
        for v in self.versions(name):
            entry = self._version(name, v)
            with tempfile.TemporaryDirectory(prefix="alphapulse-meta-") as tmp:
                path = self.client.download_artifacts(entry.run_id, "metadata.json", tmp)
                meta = json.loads(Path(path).read_text())
            out.append(RegistryEntry(entry.name, entry.version, entry.run_id, entry.created, meta))
        return out


def artifact_sha256(folder: Path) -> str:
    """SHA-256 over every file under ``folder``: relative path and content, sorted."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix().encode()
        digest.update(len(rel).to_bytes(8, "big") + rel + path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"model name {name!r}: letters, digits, '_', '.', '-' only")


def _key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", str(key))[:250]


def _ts(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000.0).astimezone()
