"""Gateway: the HTTP edge (REST API, web pages, QR images) over Kafka and the MongoDB views."""
