"""Local infrastructure for machines without Docker: Kafka from Maven Central
jars, FerretDB built from its Go module (or a mongod / MONGO_URL), started on
loopback, with data in the clone's git-ignored ``.serah/`` folder."""
