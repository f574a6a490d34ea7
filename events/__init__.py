"""Serah's public event contract: the envelope, every command and event, topic
names, the codec, label identities and the office reference list.

Pure Python: this package imports no Kafka, MongoDB, web framework or
environment, so every service (and any outside consumer) can depend on it.
"""
