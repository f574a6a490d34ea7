"""The handover service's connections to the outside: MongoDB and Kafka."""
