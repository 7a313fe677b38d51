from cog import BaseRunner


class Predictor(BaseRunner):
    def run(self) -> list:
        return [{"a": 1}]
