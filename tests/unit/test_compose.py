"""Docker cannot run here, so the production compose file is checked by structure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERAH = ("gateway", "allocation", "handover", "audit")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def template_vars() -> set[str]:
    names = set()
    for line in (ROOT / "deploy" / "env.template").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


def test_every_service_has_an_image_or_build_and_a_healthcheck() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "mongo", *SERAH}
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_serah_services_wait_for_healthy_kafka_and_mongo_and_share_one_image() -> None:
    services = compose()["services"]
    for name in SERAH:
        svc = services[name]
        assert svc["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile" and svc["image"] == "serah:latest"
        assert svc["command"][:2] == ["python", "-m"] and svc["command"][2] == f"services.{name}"
        assert (ROOT / "services" / name / "__main__.py").exists()


def test_kafka_runs_kraft_and_mongo_a_replica_set() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:")
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])


def test_secrets_are_required_and_every_variable_is_in_the_env_template() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert referenced, "compose references no variables"
    assert referenced <= template_vars(), referenced - template_vars()
    for secret in (
        "SERAH_LABEL_SIGNING_KEYS",
        "SERAH_LABEL_PUBLIC_KEYS",
        "SERAH_RECEIPT_CODE_KEYS",
        "KAFKA_CLUSTER_ID",
    ):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} must be required with :?"


def test_only_the_gateway_gets_the_signing_keys() -> None:
    services = compose()["services"]
    for name in SERAH:
        env = services[name]["environment"]
        assert ("SERAH_LABEL_SIGNING_KEYS" in env) == (name == "gateway"), name
        assert "SERAH_LABEL_PUBLIC_KEYS" in env


def test_only_the_gateway_and_handover_get_the_receipt_code_keys() -> None:
    services = compose()["services"]
    for name in SERAH:
        env = services[name]["environment"]
        assert ("SERAH_RECEIPT_CODE_KEYS" in env) == (name in ("gateway", "handover")), name


def test_the_dockerfile_installs_the_pinned_lock() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "-c deploy/requirements.lock" in dockerfile and "USER serah" in dockerfile
