"""The widgets and what they share: views, the background loop, forms, sharing."""
