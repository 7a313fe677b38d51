from enum import Enum

from cog import BaseRunner, Input


class Colors(str, Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Numbers(float, Enum):
    E = 2.71828
    PI = 3.14159


class Predictor(BaseRunner):
    def run(
        self,
        c: str = Input(default=Colors.RED, choices=[c.value for c in Colors]),
        n: float = Input(default=Numbers.E),
    ) -> str:
        return c
