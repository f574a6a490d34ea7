"""What a route receives from FastAPI besides its request: the gateway's
dependencies (and, with sign-in, who is asking)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.bootstrap import Gateway


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GW = Annotated[Gateway, Depends(gateway)]
