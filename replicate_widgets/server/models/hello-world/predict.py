from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(self, text: str = Input(description="Text to prefix with 'hello '")) -> str:
        return "hello " + text
