"""The tokens file, the token command, and which settings the operator API refuses (issue 11)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.config.ingest import IngestSettings
from orchestrator.config.principals import Principals, new_token, token_hash
from orchestrator.config.settings import Settings
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import ConfigError
from tests.cli.helpers import CLI, cli
from tests.ingest.operators import PEOPLE, token_of, tokens_file_text
from workers.api import is_loopback, unauthenticated_warning


def _from_file(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    return Settings.from_env({"ORCHESTRATOR_TOKENS_FILE": str(path)})


def test_a_tokens_file_maps_each_token_to_its_principal(tmp_path: Path) -> None:
    settings = _from_file(tmp_path, tokens_file_text())
    for name, role in PEOPLE.items():
        principal = settings.principals.authenticate(token_of(name))
        assert principal is not None and principal.name == name and principal.highest is role
    assert settings.principals.authenticate("orch_someone-else-0123456789") is None
    assert settings.principals.authenticate("") is None
    assert "test-token" not in tokens_file_text()  # only hashes are kept


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tokens: [1, 2]", "expected one key, tokens"),
        ("users: {}", "expected one key, tokens"),
        ("tokens: {'sha256:abc': {name: a, roles: [viewer]}}", "not sha256:<64 hex digits>"),
        (f"tokens: {{'{token_hash('x')}': {{name: a, roles: [boss]}}}}", "unknown role 'boss'"),
        (f"tokens: {{'{token_hash('x')}': {{name: 'a b', roles: [viewer]}}}}", "name"),
        (f"tokens: {{'{token_hash('x')}': {{name: a, roles: []}}}}", "roles"),
        (
            f"tokens: {{'{token_hash('x')}': {{name: a, roles: [viewer]}},"
            f" '{token_hash('y')}': {{name: a, roles: [admin]}}}}",
            "different roles on two tokens",
        ),
        ("tokens: {a: [", "not YAML"),
    ],
)
def test_a_bad_tokens_file_is_one_line_naming_the_variable(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _from_file(tmp_path, text)
    assert "ORCHESTRATOR_TOKENS_FILE" in str(raised.value)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_shared_operator_token_is_refused_at_start() -> None:
    """Defect 3's root: one shared token for every person. It is no longer read."""
    for name in ("ORCHESTRATOR_INGEST_OPERATOR_TOKEN", "ORCHESTRATOR_INGEST_OPERATOR_TOKEN_FILE"):
        with pytest.raises(ConfigError, match="use ORCHESTRATOR_TOKENS_FILE"):
            Settings.from_env({name: "shared-secret"})


def test_roles_include_those_below() -> None:
    ana_token = Principal(name="ana", roles=frozenset({Role.APPROVER}))
    principals = Principals.of([(token_hash("t"), ana_token)])
    ana = principals.authenticate("t")
    assert ana is not None
    assert [ana.may(r) for r in Role] == [True, True, True, False]


def test_unauthenticated_ingest_is_loopback_only_and_warned() -> None:
    """Defect 3: the flag opened the operator API too, on any address. Now: ingest only, only on
    loopback, and starting with it prints a warning."""
    assert unauthenticated_warning(IngestSettings(), "0.0.0.0") is None
    open_ingest = IngestSettings(allow_unauthenticated=True)
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert is_loopback(host)
        warning = unauthenticated_warning(open_ingest, host)
        assert warning is not None and "operator API still needs a token" in warning
    for host in ("0.0.0.0", "10.0.0.5", "::", "api.internal"):
        with pytest.raises(ConfigError, match="not on loopback"):
            unauthenticated_warning(open_ingest, host)


async def test_token_create_adds_a_hash_and_prints_the_token_once(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    made = await cli(
        "token",
        "create",
        "--name",
        "maria.oncall",
        "--role",
        "responder",
        "--tokens-file",
        str(tokens),
    )
    assert made.code == 0, made.err
    token = made.out.strip()
    assert token.startswith("orch_") and token not in tokens.read_text()
    again = await cli(
        "token",
        "create",
        "--name",
        "lead.sre",
        "--role",
        "approver",
        env={"ORCHESTRATOR_TOKENS_FILE": str(tokens)},
    )
    assert again.code == 0, again.err
    settings = _from_file(tmp_path, tokens.read_text())
    maria = settings.principals.authenticate(token)
    assert maria is not None and maria.name == "maria.oncall" and maria.highest is Role.RESPONDER
    assert settings.principals.names == ["lead.sre", "maria.oncall"]
    clash = await cli(
        "token", "create", "--name", "lead.sre", "--role", "admin", "--tokens-file", str(tokens)
    )
    assert clash.code == 2 and "different roles on two tokens" in clash.err
    bad_role = await cli(
        "token", "create", "--name", "x", "--role", "boss", "--tokens-file", str(tokens)
    )
    assert bad_role.code == 2 and "unknown role 'boss'" in bad_role.err
    hashed = await _hash(new_token())
    assert hashed.startswith("sha256:") and len(hashed) == 71


async def _hash(token: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        CLI,
        "token",
        "hash",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(token.encode() + b"\n")
    assert out.decode().strip() == token_hash(token)
    return out.decode().strip()
