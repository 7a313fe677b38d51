from cog import BasePredictor


class Trainer(BasePredictor):
    def setup(self) -> None:
        print("Trainer is setting up.")
        self.prefix = "hello train"

    def train(self, s: str) -> str:
        return f"{self.prefix} {s}"

    def predict(self, s: str) -> str:
        return "hello predict " + s
