from cog import BaseRunner, Path, Secret  # noqa: F401


class Predictor(BaseRunner):
    def run(self, x: Path) -> Path:
        return x
