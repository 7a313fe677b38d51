from cog import BaseRunner, Path, Secret  # noqa: F401


class Predictor(BaseRunner):
    def run(self, x: bool, y: bool) -> bool:
        return x and y
