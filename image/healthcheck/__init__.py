"""healthcheck: a serverless uptime monitor's Lambda function."""
