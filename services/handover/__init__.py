"""Handover service: receipt scans at the recipient office (and, later, the BAST)."""
