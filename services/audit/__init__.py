"""Audit service: the tamper-evident event log and the views auditors and the gateway read."""
