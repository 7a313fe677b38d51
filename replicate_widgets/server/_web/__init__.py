"""The HTTP layer: Starlette routes, request parsing, answers, events, problems."""
