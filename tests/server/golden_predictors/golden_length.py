from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        s_min: str = Input(min_length=5),
        s_max: str = Input(max_length=10),
        s_min_max: str = Input(min_length=5, max_length=10),
        s_min_max_wd: str = Input(min_length=5, max_length=10, default="foobar"),
    ) -> str:
        return s_min
