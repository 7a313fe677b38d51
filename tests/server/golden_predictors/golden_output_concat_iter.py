from cog import BaseRunner, ConcatenateIterator


class Predictor(BaseRunner):
    def run(self, xs: list[str]) -> ConcatenateIterator[str]:
        yield from xs
