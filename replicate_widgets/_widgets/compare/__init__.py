"""``Compare`` and ``Sweep``: many predictions side by side."""
