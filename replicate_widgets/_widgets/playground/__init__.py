"""``Playground``: a model's form, Run, a live panel, and copy as code."""
