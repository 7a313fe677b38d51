"""A model's ``openapi_schema``: ordered form fields, validation, the output kind."""
