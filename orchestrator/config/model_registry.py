"""Settings of the model registry: which components' versions MLflow serves, and how to reach it.

``ORCHESTRATOR_MODEL_REGISTRY=mlflow`` sends the version pins of the components named in
``ORCHESTRATOR_MLFLOW_MODELS`` to an MLflow Model Registry (a registered model and its serving
alias each); every other component, and every replica count, stays with the deployment provider
(the local state folder by default). Chosen apart from that provider, so MLflow can hold the
versions while another system scales. See docs/integrations.md.

``ORCHESTRATOR_MLFLOW_MODELS`` is a comma-separated list of ``COMPONENT=MODEL[@ALIAS]``, where
``COMPONENT`` is ``service/component`` (or a bare component name: that component of every
service), ``MODEL`` a registered model's name and ``ALIAS`` its serving alias (default
``ORCHESTRATOR_MLFLOW_ALIAS``, ``champion``).
"""

from __future__ import annotations

import re

from orchestrator.config.env import Env
from orchestrator.domain.model_registry import DEFAULT_ALIAS, MlflowModel, MlflowSettings
from orchestrator.errors import ConfigError

REGISTRIES = ("none", "mlflow")
_ALIAS = re.compile(r"[\w-]{1,255}")
"""MLflow's rule for alias names (alphanumerics, ``_`` and ``-``), less the reserved ones below."""
_RESERVED_ALIAS = re.compile(r"latest|[vV]\d+", re.IGNORECASE)
_COMPONENT = re.compile(r"(?:[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+")
_MODEL_NAME = re.compile(r"[^'\"`\\,=@\s][^'\"`\\,=@]{0,254}(?<!\s)")
"""A registered model's name: no quotes or backslashes (it goes into a search filter)."""


def mlflow_from_env(env: Env) -> MlflowSettings | None:
    """None when no model registry is chosen (the default)."""
    if env.choice("ORCHESTRATOR_MODEL_REGISTRY", REGISTRIES, "none") != "mlflow":
        return None
    uri = env.text("ORCHESTRATOR_MLFLOW_TRACKING_URI", "")
    models = env.text("ORCHESTRATOR_MLFLOW_MODELS", "")
    missing = [
        name
        for name, value in (
            ("ORCHESTRATOR_MLFLOW_TRACKING_URI", uri),
            ("ORCHESTRATOR_MLFLOW_MODELS", models),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"ORCHESTRATOR_MODEL_REGISTRY=mlflow needs {', '.join(missing)}")
    if not uri.startswith(("https://", "http://")):
        raise ConfigError(
            f"ORCHESTRATOR_MLFLOW_TRACKING_URI must be an http(s) URL, got {uri[:80]!r}"
        )
    alias = env.text("ORCHESTRATOR_MLFLOW_ALIAS", DEFAULT_ALIAS)
    _check_alias("ORCHESTRATOR_MLFLOW_ALIAS", alias)
    token = env.secret("ORCHESTRATOR_MLFLOW_TOKEN")
    username = env.text("ORCHESTRATOR_MLFLOW_USERNAME", "")
    password = env.secret("ORCHESTRATOR_MLFLOW_PASSWORD")
    if bool(username) != (password is not None):
        raise ConfigError(
            "ORCHESTRATOR_MLFLOW_USERNAME and ORCHESTRATOR_MLFLOW_PASSWORD go together"
            " (the password also as ORCHESTRATOR_MLFLOW_PASSWORD_FILE)"
        )
    if token is not None and password is not None:
        raise ConfigError(
            "set either ORCHESTRATOR_MLFLOW_TOKEN (bearer) or ORCHESTRATOR_MLFLOW_USERNAME and"
            " _PASSWORD (basic auth), not both"
        )
    return MlflowSettings(
        tracking_uri=uri.rstrip("/"),
        models=parse_models(models, alias),
        token=token,
        username=username,
        password=password,
    )


def parse_models(text: str, default_alias: str = DEFAULT_ALIAS) -> tuple[MlflowModel, ...]:
    """``prompt=cx-answer-prompt@champion,support-assistant/model=cx-model`` as entries."""
    name = "ORCHESTRATOR_MLFLOW_MODELS"
    models: list[MlflowModel] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        component, sep, target = (part.strip() for part in entry.partition("="))
        model, _, alias = (part.strip() for part in target.partition("@"))
        if not sep or not _MODEL_NAME.fullmatch(model) or not _COMPONENT.fullmatch(component):
            raise ConfigError(
                f"{name}: {entry[:80]!r} is not COMPONENT=MODEL[@ALIAS] (COMPONENT:"
                " service/component or component; MODEL without quotes or backslashes)"
            )
        alias = alias or default_alias
        _check_alias(name, alias)
        if any(m.component == component for m in models):
            raise ConfigError(f"{name} names {component!r} twice")
        models.append(MlflowModel(component=component, name=model, alias=alias))
    if not models:
        raise ConfigError(f"{name} names no component")
    return tuple(models)


def _check_alias(name: str, alias: str) -> None:
    if not _ALIAS.fullmatch(alias) or _RESERVED_ALIAS.fullmatch(alias):
        raise ConfigError(
            f"{name}: alias {alias[:80]!r} is not one MLflow accepts (letters, digits, _ and -;"
            " not 'latest' nor v<number>)"
        )
