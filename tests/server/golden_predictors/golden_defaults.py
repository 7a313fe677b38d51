from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        b: bool = Input(default=False),
        f: float = Input(default=0.0),
        i: int = Input(default=0),
        s: str = Input(default="foo"),
        p: Path = Input(default="foo.txt"),
    ) -> str:
        return s
