from collections.abc import Iterator

from cog import BaseRunner


class Predictor(BaseRunner):
    def run(self, xs: list[int]) -> Iterator[int]:
        yield from xs
