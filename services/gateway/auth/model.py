"""Roles, grants and the principal a request acts as (pure: no I/O).

A grant is a role with a scope: ``*`` (everywhere), a province code (``32``) or an
office code (``32.73``). A recipient official's grant names the office whose
consignments they may sign for (and whose laptops they hand out, send for repair,
report lost and transfer); a holder's the office whose laptops they may hold; an
auditor's the region they may read; the
warehouse's the warehouse (``G-JKT1``) whose consignments it picks and dispatches;
an operator's is ``*``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from events.text import TextChecked

EVERYWHERE = "*"
SCOPE = r"^(\*|[0-9]{2}|[0-9]{2}\.[0-9]{2}|G-[A-Z0-9]{1,16})$"


class Role(StrEnum):
    ADMIN = "admin"  # accounts, roles, devices
    OPERATOR = "operator"  # registration, imports, labels, plans, receipt codes
    WAREHOUSE = "warehouse"  # dispatch scans, scanning into consignments, closing, manifests
    RECIPIENT = "recipient"  # a recipient office's official: receipts, BAST, attestations, holders, repair, loss
    HOLDER = "holder"  # a civil servant who holds an office's laptop (pemegang): confirms it and attests it
    AUDITOR = "auditor"  # reads everything (or one region), changes nothing


class Grant(TextChecked):
    role: Role
    scope: str = Field(
        default=EVERYWHERE,
        pattern=SCOPE,
        description="`*`, a province code or an office code; for the warehouse role, a warehouse (`G-JKT1`).",
    )

    @model_validator(mode="after")
    def _warehouses_for_the_warehouse(self) -> Grant:
        if self.scope.startswith("G-") and self.role != Role.WAREHOUSE:
            raise ValueError(f"only the warehouse role is scoped to a warehouse ({self.scope}); give a region")
        return self

    def covers(self, office_code: str | None) -> bool:
        """Whether this grant reaches ``office_code`` (a region or office code)."""
        if self.scope == EVERYWHERE:
            return True
        return office_code is not None and (office_code == self.scope or office_code.startswith(self.scope + "."))


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a person (``kind="person"``) or an enrolled device; or an
    administrator at the server's shell (``kind="shell"``, ``id`` their login name); or a
    service recording what it noticed itself (``kind="system"``)."""

    kind: str  # "person" | "device" | "shell"
    id: str
    name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    nip: str | None = None
    jabatan: str | None = None

    @property
    def actor(self) -> str:
        """What the history records as having acted: a person by NIP where known."""
        if self.kind in ("device", "shell", "system"):
            return f"{self.kind}:{self.id}"
        return f"nip:{self.nip}" if self.nip else f"account:{self.id}"

    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    def may(self, role: Role, office_code: str | None = None) -> bool:
        """Whether a grant of ``role`` reaches ``office_code`` (None: any grant of the role)."""
        return any(g.role == role and (office_code is None or g.covers(office_code)) for g in self.grants)

    def scopes(self, role: Role) -> set[str]:
        return {g.scope for g in self.grants if g.role == role}


ANONYMOUS = Principal(kind="anonymous", id="anonymous", name="anonymous")


@dataclass(frozen=True)
class Federated:
    """A person as an identity provider vouches for them (services/gateway/auth/oidc.py),
    with the grants their claims map to."""

    issuer: str
    subject: str
    name: str
    nip: str | None
    jabatan: str | None
    grants: tuple[Grant, ...]


def account_id_for(name: str, nip: str | None) -> str:
    """A stable, readable account id: the NIP where there is one, else the name made safe."""
    if nip:
        return f"nip-{nip}"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "account"
    return f"acct-{slug}"


class GrantList(TextChecked):
    grants: list[Grant] = Field(min_length=1, max_length=600)

    @field_validator("grants")
    @classmethod
    def _distinct(cls, grants: list[Grant]) -> list[Grant]:
        seen = {(g.role, g.scope) for g in grants}
        return [Grant(role=r, scope=s) for r, s in sorted(seen)]
