"""The gateway's connections to the outside: Kafka, MongoDB views, QR rendering."""
