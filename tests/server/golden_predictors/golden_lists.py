from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        f1: list[float],
        f2: list[float],
        i1: list[int],
        i2: list[int],
        b_wd: list[bool] = Input(default=[True, False]),
        f_wd: list[float] = Input(default=[2.71, 3.14]),
        i_wd: list[int] = Input(default=[0, 1, 2]),
        s_wd: list[str] = Input(default=["foo", "bar"]),
    ) -> str:
        return "ok"
