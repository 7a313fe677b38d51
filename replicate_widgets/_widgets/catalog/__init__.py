"""The catalogue widgets: ``ModelBrowser``, ``CreateModel``, ``Trainer``."""
