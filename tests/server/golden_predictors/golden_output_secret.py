from cog import BaseRunner, Path, Secret  # noqa: F401


class Predictor(BaseRunner):
    def run(self, x: Secret) -> Secret:
        return x
