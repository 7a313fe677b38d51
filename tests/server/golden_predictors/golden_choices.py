from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        i: int = Input(choices=[0, 1, 2]),
        i_wd: int = Input(default=0, choices=[0, 1, 2]),
        s: str = Input(choices=["foo", "bar"]),
        s_wd: str = Input(default="foo", choices=["foo", "bar"]),
    ) -> str:
        return s
