"""The Replicate HTTP API client: requests, retries, streaming, typed results."""
