"""Models, versions and deployments: what the backend can run."""
