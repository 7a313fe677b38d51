import functools

from cog import BaseRunner


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


class Predictor(BaseRunner):
    @logged
    def run(self, s: str) -> str:
        return s
