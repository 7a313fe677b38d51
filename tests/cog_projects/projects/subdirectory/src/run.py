from cog import BaseRunner
from shared import join


class Runner(BaseRunner):
    def run(self, s: str) -> str:
        return join("hello", s)
