from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        f1: float = Input(default=3),
        f2: float = Input(default=3.14),
        f3: list[float] = Input(default=[3, 4]),
        f4: list[float] = Input(default=[2.71, 3.14]),
    ) -> str:
        return str(f1)
