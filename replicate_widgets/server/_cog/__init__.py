"""Running Cog: model folders, their schemas, and coglet processes."""
