"""Local stand-ins for the cloud: embedded DynamoDB, `make run` and `make serve`."""
