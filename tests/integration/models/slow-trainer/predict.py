"""A trainer that takes its time (0.1 s a step, printed), so that a test can stop it."""

import time

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, text: str = Input(default="x")) -> str:
        return text

    def train(self, steps: int = Input(default=300, ge=1)) -> Path:
        for i in range(steps):
            print(f"step {i}", flush=True)
            time.sleep(0.1)
        out = Path("/tmp/never-used-weights.txt")
        out.write_text("w")
        return out
