from cog import BaseRunner, Input, Path

ALLOWED = {".jpg", ".jpeg", ".png", ".txt"}


class Runner(BaseRunner):
    def run(self, file: Path = Input(description="An image or a text file")) -> str:
        # The check a prototype makes first: refuse files it cannot read.
        if file.suffix.lower() not in ALLOWED:
            raise ValueError(f"unsupported file type {file.suffix!r} ({file.name})")
        return f"{file.suffix} {file.stat().st_size} {file.name}"
