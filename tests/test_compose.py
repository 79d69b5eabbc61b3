"""docker-compose.yml agrees with the code and keeps the deployment's invariants.

Guards against a compose file that starts but silently misbehaves: an orchestrator service setting
a variable the code never reads (``ORCHESTRATOR_INGEST_TOKEN_ALERTMANAGER_FILE`` made every
Alertmanager delivery a 401), the api without its ingest tokens, worker/api/cli each with their own
state folder (kill switch, breaker ledger and freezes not shared), a secret written inline, the
deprecated ``temporalio/auto-setup`` image, a Temporal server started before its schema exists,
and a file ``docker-compose config`` rejects.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.variables import VARIABLES
from orchestrator.workflows.types import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = REPO_ROOT / "docker-compose.yml"
ORCHESTRATOR_SERVICES = ("worker", "api", "cli")
SECRETS_DIR = "/run/secrets/"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PWD|TOKEN|SECRET|API_KEY|SDK_KEY)$")
"""Names that hold a secret, for the services whose variables are not in VARIABLES."""
DSN_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")

Service = dict[str, Any]


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{COMPOSE_PATH} is not a YAML mapping"
    return loaded


@pytest.fixture
def services(compose: dict[str, Any]) -> dict[str, Service]:
    found = compose.get("services")
    assert isinstance(found, dict) and found, f"{COMPOSE_PATH} has no services"
    return found


def environment(service: Service) -> dict[str, str | None]:
    """What a service sets, from either form; a bare ``NAME`` in list form passes the host's."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    pairs = (str(item).partition("=") for item in env)
    return {name: value if sep else None for name, sep, value in pairs}


def is_orchestrator(service: Service) -> bool:
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    return context in (".", "./") or str(service.get("image", "")).startswith("ai-cx-orchestrator")


def image_of(service: Service) -> str:
    return str(service.get("image", ""))


def script_of(service: Service) -> str:
    parts = [service.get("entrypoint") or [], service.get("command") or []]
    return " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts)


def depends_on(service: Service) -> dict[str, str]:
    """Dependency name -> condition (the short list form means ``service_started``)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def only(services: dict[str, Service], image: str) -> list[str]:
    return [name for name, s in services.items() if image_of(s).split(":")[0] == image]


def the_server(services: dict[str, Service]) -> str:
    servers = only(services, "temporalio/server")
    assert len(servers) == 1, f"expected one temporalio/server service, found {servers}"
    return servers[0]


def test_the_orchestrator_services_are_the_ones_built_from_the_repo(
    services: dict[str, Service],
) -> None:
    for name in ORCHESTRATOR_SERVICES:
        assert name in services, f"service {name!r} is missing"
        assert is_orchestrator(services[name]), f"service {name!r} is not built from the repo"


def test_orchestrator_services_set_only_variables_the_code_reads(
    services: dict[str, Service],
) -> None:
    unknown = [
        f"service {name!r} sets {var}, which is not in orchestrator.config.variables.VARIABLES"
        for name, service in services.items()
        if is_orchestrator(service)
        for var in sorted(environment(service))
        if var not in VARIABLES
    ]
    assert not unknown, "\n".join(unknown)


def test_api_reads_the_alertmanager_token_and_the_operator_tokens_from_files(
    services: dict[str, Service],
) -> None:
    env = environment(services["api"])
    for var in ("ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN_FILE", "ORCHESTRATOR_TOKENS_FILE"):
        assert env.get(var), f"service 'api' does not set {var}"
        assert str(env[var]).startswith(SECRETS_DIR), f"api {var} is not a Docker secret file"


def secret_names(service: Service) -> set[str]:
    return {
        s if isinstance(s, str) else s.get("target", s["source"])
        for s in service.get("secrets") or []
    }


def test_every_secret_file_a_service_names_is_mounted_in_it(services: dict[str, Service]) -> None:
    missing = [
        f"service {name!r}: {var}={value} but secret {value[len(SECRETS_DIR) :]!r} is not mounted"
        for name, service in services.items()
        for var, value in environment(service).items()
        if value
        and value.startswith(SECRETS_DIR)
        and value[len(SECRETS_DIR) :] not in secret_names(service)
    ]
    assert not missing, "\n".join(missing)


def mounts(service: Service) -> dict[str, str]:
    """Container path -> volume source, for short (``src:dst[:mode]``) and long syntax."""
    found: dict[str, str] = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            found[str(volume.get("target"))] = str(volume.get("source", ""))
        elif ":" in str(volume):
            source, target = str(volume).split(":")[:2]
            found[target] = source
    return found


def test_worker_api_and_cli_share_one_named_state_volume(
    compose: dict[str, Any], services: dict[str, Service]
) -> None:
    named = set(compose.get("volumes") or {})
    sources: dict[str, str] = {}
    for name in ORCHESTRATOR_SERVICES:
        state_dir = environment(services[name]).get("ORCHESTRATOR_STATE_DIR")
        assert state_dir, f"service {name!r} does not set ORCHESTRATOR_STATE_DIR"
        source = mounts(services[name]).get(state_dir)
        assert source, f"service {name!r} mounts no volume at ORCHESTRATOR_STATE_DIR={state_dir}"
        assert source in named, f"service {name!r} mounts {source!r}, not a named volume"
        sources[name] = source
    assert len(set(sources.values())) == 1, f"state volumes differ: {sources}"


def test_no_service_uses_the_deprecated_auto_setup_image(services: dict[str, Service]) -> None:
    found = only(services, "temporalio/auto-setup")
    assert not found, f"{found} use the deprecated temporalio/auto-setup image"


def test_the_server_starts_after_its_schema_setup_completed(services: dict[str, Service]) -> None:
    server = the_server(services)
    schema = [
        name
        for name in only(services, "temporalio/admin-tools")
        if "temporal-sql-tool" in script_of(services[name])
    ]
    assert schema, "no temporalio/admin-tools service runs temporal-sql-tool (schema setup)"
    deps = depends_on(services[server])
    assert any(deps.get(name) == "service_completed_successfully" for name in schema), (
        f"{server!r} must depend on {schema} with condition: service_completed_successfully"
    )


def test_search_attributes_are_registered_once_the_server_is_healthy(
    services: dict[str, Service],
) -> None:
    server = the_server(services)
    registrars = [
        name
        for name in only(services, "temporalio/admin-tools")
        if "search-attribute create" in script_of(services[name])
    ]
    assert registrars, "no temporalio/admin-tools service registers the search attributes"
    for name in registrars:
        assert depends_on(services[name]).get(server) == "service_healthy", name
        script = script_of(services[name])
        for key in SEARCH_ATTRIBUTES:
            assert re.search(rf"\b{key.name}\b", script), f"{name!r} does not register {key.name}"
        assert "--type Keyword" in script


def inline_secrets(name: str, service: Service) -> list[str]:
    found = []
    for var, value in environment(service).items():
        known = VARIABLES.get(var)
        secret = known.kind == "secret" if known else bool(SECRET_NAME.search(var))
        if secret:
            found.append(f"service {name!r} sets {var} inline; use {var}_FILE and a Docker secret")
        if value and DSN_PASSWORD.search(value):
            found.append(f"service {name!r}: {var} carries a password in its URL")
    return found


def test_no_secret_is_set_inline(services: dict[str, Service]) -> None:
    found = [line for name, s in services.items() for line in inline_secrets(name, s)]
    assert not found, "\n".join(found)


def test_docker_compose_accepts_the_file() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed: apt-get install docker-compose (.ci/run does)"
        )
    done = subprocess.run(
        [exe, "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_PATH), "config", "-q"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        f"docker-compose config -q exited {done.returncode}:\n{done.stderr}"
    )
