"""Allocation service: the inventory, allocation to offices, and dispatch scans."""
