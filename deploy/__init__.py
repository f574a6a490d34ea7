"""What starts Serah's infrastructure: local Kafka and MongoDB-wire servers,
topic set-up, the Dockerfile and env template for docker-compose."""
