"""The prediction engine: a run's whole life, its instances, sessions and webhooks."""
