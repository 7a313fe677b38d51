from cog import BaseRunner, Path


class Predictor(BaseRunner):
    def setup(self, weights: Path | None = None) -> None:
        self.weights = weights

    def run(self, i: int) -> str:
        return f"{self.weights}:{i}"
