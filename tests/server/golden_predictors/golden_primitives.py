from cog import BaseRunner


class Predictor(BaseRunner):
    def run(self, b: bool, f: float, i: int, s: str) -> str:
        return f"{b} {f} {i} {s}"
