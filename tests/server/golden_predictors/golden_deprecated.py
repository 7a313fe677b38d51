from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self, s: str = Input(description="deprecated field", deprecated=True)
    ) -> str:
        return s
