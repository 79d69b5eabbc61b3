"""Where pins, scales and release freezes go: the state folder, or a CI/CD system's HTTP API.

``ORCHESTRATOR_DEPLOY=local`` (the default) keeps components in the state folder;
``ORCHESTRATOR_DEPLOY=webhook`` sends each operation as the YAML file
``ORCHESTRATOR_DEPLOY_WEBHOOK_FILE`` describes (:mod:`orchestrator.domain.deploy_webhook`,
docs/integrations.md). The file is validated when the settings are read: a refusal is one line
naming the variable and the field. Its ``${ENV_NAME}`` header secrets are read then too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
import yaml

from orchestrator.config.env import Env
from orchestrator.domain.deploy_webhook import DeployWebhookSpec
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

DEPLOYS = ("local", "webhook")
FILE_VARIABLE = "ORCHESTRATOR_DEPLOY_WEBHOOK_FILE"


@dataclass(frozen=True)
class DeployWebhookSettings:
    spec: DeployWebhookSpec
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    """The value of each ``${ENV_NAME}`` the headers use."""


@dataclass(frozen=True)
class DeploySettings:
    backend: str = "local"
    webhook: DeployWebhookSettings | None = None


def deploy_from_env(env: Env) -> DeploySettings:
    backend = env.choice("ORCHESTRATOR_DEPLOY", DEPLOYS, "local")
    if backend != "webhook":
        return DeploySettings(backend)
    text = env.file_text(FILE_VARIABLE)
    if text is None:
        raise ConfigError(f"ORCHESTRATOR_DEPLOY=webhook needs {FILE_VARIABLE}")
    return DeploySettings(backend, parse_deploy_webhook(text, env))


def parse_deploy_webhook(text: str, env: Env) -> DeployWebhookSettings:
    """The file's spec and its header secrets; ConfigError (one line) naming the field."""
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{FILE_VARIABLE}: not YAML ({type(exc).__name__})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{FILE_VARIABLE}: expected a mapping with operations")
    try:
        spec = DeployWebhookSpec.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{FILE_VARIABLE}: {where + ': ' if where else ''}{message}") from None
    secrets: dict[str, Secret] = {}
    for name in sorted(spec.secret_names()):
        secret = env.named_secret(name)
        if secret is None:
            raise ConfigError(f"{FILE_VARIABLE}: the headers use ${{{name}}}; set {name}")
        secrets[name] = secret
    return DeployWebhookSettings(spec, secrets)
