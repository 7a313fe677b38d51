from typing import Any

from cog import BaseRunner


class Predictor(BaseRunner):
    def run(self, x: int) -> Any:
        return {"x": x}
