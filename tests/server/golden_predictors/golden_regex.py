from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        r: str = Input(regex="https://.*"),
        r_wd: str = Input(regex="https://.*", default="https://replicate.com"),
    ) -> str:
        return r
