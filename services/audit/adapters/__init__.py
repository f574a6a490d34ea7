"""The audit service's connections to the outside: MongoDB and Kafka."""
