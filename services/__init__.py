"""Serah's deployables: gateway (HTTP), allocation, handover, audit (faust workers)."""
