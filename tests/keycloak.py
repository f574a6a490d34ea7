"""A real OpenID Connect provider for the sign-in tests: Keycloak's server distribution
from Maven Central, on loopback, with an in-memory database.

Fetched and built once per version into the user cache (``kc.sh build`` fixes the
build-time options, so each start is ``start --optimized``: about 15 s instead of 40);
each start writes nothing into the cache. The realm the tests use (a confidential client
for the gateway, realm roles named like Serah's, users with a NIP, a jabatan and an
office) is made through Keycloak's admin API, as an organisation's administrator would."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deploy.local import procs
from deploy.local.tools import cache_dir, free_port, require, wait_for_port

KEYCLOAK_VERSION = "26.7.3"
REALM = "serah"
CLIENT_ID = "serah-gateway"
ADMIN = ("bootstrap-admin", "bootstrap-admin-password")
# The build-time options baked into the cached distribution.
BUILD = ["--db=dev-mem", "--health-enabled=true"]


def ensure_keycloak() -> Path:
    """The built distribution, fetched and built once per version (atomically: a run that
    dies half-way leaves nothing another run would mistake for finished)."""
    home = cache_dir(f"keycloak-{KEYCLOAK_VERSION}")
    dist = home / "dist"
    if (home / ".complete").exists():
        return dist
    mvn = require("mvn", "Install Maven (e.g. apt-get install maven): it fetches Keycloak from Maven Central.")
    java = require("java", "Install Java 17 or newer to run Keycloak.")
    work = Path(tempfile.mkdtemp(prefix="build-", dir=home))
    try:
        print(f"serah tests: fetching Keycloak {KEYCLOAK_VERSION} from Maven Central (once)…", flush=True)
        fetched = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz",
                f"-DoutputDirectory={work}",
            ],
            capture_output=True,
            text=True,
        )
        if fetched.returncode != 0:
            raise RuntimeError(f"Maven could not fetch Keycloak {KEYCLOAK_VERSION}:\n{fetched.stdout[-3000:]}")
        with tarfile.open(work / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.tar.gz") as tar:
            tar.extractall(work, filter="tar")
        built = work / f"keycloak-{KEYCLOAK_VERSION}"
        env = {**os.environ, "JAVA_HOME": str(Path(java).resolve().parents[1])}
        result = subprocess.run(
            [str(built / "bin" / "kc.sh"), "build", *BUILD], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"kc.sh build failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        shutil.rmtree(dist, ignore_errors=True)
        built.rename(dist)
        (home / ".complete").write_text(KEYCLOAK_VERSION)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dist


@dataclass
class Keycloak:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    def stop(self) -> None:
        procs.stop(self.proc, grace_s=10)

    def admin(self) -> httpx.Client:
        token = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": ADMIN[0], "password": ADMIN[1]},
            timeout=30,
        )
        token.raise_for_status()
        return httpx.Client(
            base_url=f"{self.url}/admin/realms",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )

    def make_realm(self, redirect_uri: str, secret: str) -> None:
        """The realm, its Serah roles, and the gateway's client with the mappers that put
        the realm roles, NIP, jabatan and office into the ID token."""
        with self.admin() as kc:
            made = kc.post(
                "",
                json={
                    "realm": REALM,
                    "enabled": True,
                    "roles": {
                        "realm": [{"name": r} for r in ("admin", "operator", "warehouse", "recipient", "auditor")]
                    },
                    "clients": [
                        {
                            "clientId": CLIENT_ID,
                            "enabled": True,
                            "publicClient": False,
                            "secret": secret,
                            "standardFlowEnabled": True,
                            "directAccessGrantsEnabled": False,
                            "redirectUris": [redirect_uri],
                            "attributes": {"pkce.code.challenge.method": "S256"},
                            "protocolMappers": [
                                _mapper("roles", "oidc-usermodel-realm-role-mapper", "serah_roles", multivalued=True),
                                _mapper("nip", "oidc-usermodel-attribute-mapper", "nip", attribute="nip"),
                                _mapper("jabatan", "oidc-usermodel-attribute-mapper", "jabatan", attribute="jabatan"),
                                _mapper(
                                    "office", "oidc-usermodel-attribute-mapper", "serah_office", attribute="office"
                                ),
                            ],
                        }
                    ],
                },
            )
            assert made.status_code == 201, made.text
            # Attributes outside the user profile (NIP, jabatan, office) are kept, not dropped.
            profile = kc.get(f"/{REALM}/users/profile").json()
            profile["unmanagedAttributePolicy"] = "ENABLED"
            assert kc.put(f"/{REALM}/users/profile", json=profile).status_code == 200

    def add_user(self, username: str, password: str, roles: list[str], **attributes: str) -> str:
        """A person at the provider (complete, so Keycloak asks nothing more at sign-in); their id."""
        with self.admin() as kc:
            made = kc.post(
                f"/{REALM}/users",
                json={
                    "username": username,
                    "enabled": True,
                    "email": f"{username}@instansi.example",
                    "emailVerified": True,
                    "firstName": username.split("-")[0].title(),
                    "lastName": "Pratama",
                    "attributes": {k: [v] for k, v in attributes.items()},
                    "credentials": [{"type": "password", "value": password, "temporary": False}],
                },
            )
            assert made.status_code == 201, made.text
            user_id = made.headers["location"].rsplit("/", 1)[1]
            _set_roles(kc, user_id, roles)
            return user_id

    def set_roles(self, user_id: str, roles: list[str]) -> None:
        """Replace the user's Serah realm roles with ``roles``."""
        with self.admin() as kc:
            _set_roles(kc, user_id, roles)


def _set_roles(kc: httpx.Client, user_id: str, roles: list[str]) -> None:
    every = [kc.get(f"/{REALM}/roles/{r}").json() for r in ("admin", "operator", "warehouse", "recipient", "auditor")]
    mapped = f"/{REALM}/users/{user_id}/role-mappings/realm"
    assert kc.request("DELETE", mapped, json=every).status_code == 204
    if roles:
        assert kc.post(mapped, json=[r for r in every if r["name"] in roles]).status_code == 204


def _mapper(name: str, kind: str, claim: str, *, multivalued: bool = False, attribute: str = "") -> dict[str, Any]:
    config = {
        "claim.name": claim,
        "jsonType.label": "String",
        "id.token.claim": "true",
        "access.token.claim": "true",
        "userinfo.token.claim": "true",
        "multivalued": str(multivalued).lower(),
    }
    if attribute:
        config["user.attribute"] = attribute
    return {"name": name, "protocol": "openid-connect", "protocolMapper": kind, "config": config}


def start_keycloak(data: Path, timeout_s: float = 180) -> Keycloak:
    dist = ensure_keycloak()
    java = require("java", "Install Java 17 or newer to run Keycloak.")
    port, management = free_port(), free_port()
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "JAVA_HOME": str(Path(java).resolve().parents[1]),
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
        "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
        "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
    }
    proc = procs.start(
        [
            str(dist / "bin" / "kc.sh"),
            "start",
            "--optimized",
            "--http-enabled=true",
            "--http-host=127.0.0.1",
            f"--http-port={port}",
            f"--http-management-port={management}",
            "--hostname-strict=false",
        ],
        data / "keycloak.log",
        env,
    )
    wait_for_port(port, timeout_s, proc, what=f"Keycloak (log: {data / 'keycloak.log'})")
    keycloak = Keycloak(proc, port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the port opens a moment before the master realm is ready
        if proc.poll() is not None:
            raise RuntimeError(f"Keycloak exited with code {proc.returncode}; see {data / 'keycloak.log'}")
        try:
            if httpx.get(f"{keycloak.url}/realms/master", timeout=5).status_code == 200:
                return keycloak
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Keycloak did not become ready; see {data / 'keycloak.log'}")
