from cog import BaseRunner


class Predictor(BaseRunner):
    def run(self, xs: list[int]) -> list[int]:
        return xs
