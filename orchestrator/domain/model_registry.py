"""Where component versions live in an MLflow Model Registry: the mapping the settings give
(orchestrator/config/model_registry.py parses it from the environment) and the provider
(orchestrator/providers/mlflow_registry.py) follows. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.secrets import Secret

DEFAULT_ALIAS = "champion"


@dataclass(frozen=True)
class MlflowModel:
    """Where one component's serving version lives: ``alias`` of registered model ``name``."""

    component: str
    """``service/component``, or a bare component name (that component of every service)."""
    name: str
    alias: str = DEFAULT_ALIAS


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str
    models: tuple[MlflowModel, ...]
    token: Secret | None = None
    """Sent as ``Authorization: Bearer`` (MLflow's MLFLOW_TRACKING_TOKEN)."""
    username: str = ""
    password: Secret | None = None
    """With ``username``: HTTP basic auth (MLflow's built-in ``basic-auth`` app)."""

    def model_for(self, service: str, component: str) -> MlflowModel | None:
        """The registered model of ``service/component``: the exact entry before a bare one."""
        for key in (f"{service}/{component}", component):
            for model in self.models:
                if model.component == key:
                    return model
        return None
