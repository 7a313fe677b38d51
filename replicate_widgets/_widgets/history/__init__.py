"""``History``: this notebook's runs and the API's list."""
