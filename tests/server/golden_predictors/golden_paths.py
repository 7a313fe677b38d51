from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        p1: Path,
        p2: Path = Input(default="bar.txt"),
        p3: Path = Input(default="baz.txt"),
        ps: list[Path] = Input(default=["bar123.txt", "baz123.txt"]),
    ) -> list[Path]:
        return [p1]
