"""What the backend keeps on disk: SQLite records, files, model folders."""
