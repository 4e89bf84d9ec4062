"""``logging.mlflow.*``: where the MLflow logger (``logging.loggers=[mlflow]``) tracks a run. Nothing
here imports torch or mlflow."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from typing import Optional

from aelab.errors import ConfigError
from aelab.keys import key


@dataclass
class MLflowConfig:
    tracking_uri: str = key(
        "sqlite:///outputs/mlflow.db",
        "the tracking store: a SQLite file, as MLflow recommends for local use (relative paths from the "
        "working directory), or a server's http(s):// address",
    )
    experiment: Optional[str] = key(  # noqa: UP045 (OmegaConf reads typing.Optional, not X | None)
        None, "the MLflow experiment (null: a sweep's dir, or aelab for a single run)"
    )
    artifact_root: str = key(
        "outputs/mlflow-artifacts",
        "a local store's artifacts (the image grids): one folder per experiment under it",
    )

    def check_rules(self) -> None:
        if not self.tracking_uri.strip():
            raise ConfigError("logging.mlflow.tracking_uri is empty: give a store, e.g. sqlite:///outputs/mlflow.db")
        if self.experiment is not None and not self.experiment.strip():
            raise ConfigError("logging.mlflow.experiment is empty: give a name, or null")

    def check_in_use(self) -> None:
        """``logging.loggers=[mlflow]`` needs the optional mlflow package (looked up, not imported)."""
        if find_spec("mlflow") is None:
            raise ConfigError(
                "logging.loggers=[mlflow] needs the mlflow package, which is not installed: "
                "pip install -e '.[mlflow]' (or leave mlflow out of logging.loggers)"
            )


CONFIG = MLflowConfig
