from cog import BaseModel, BaseRunner, Path, Secret


class Output(BaseModel):
    b: bool
    f: float
    i: int
    s: str
    path: Path
    secret: Secret


class Predictor(BaseRunner):
    def run(
        self, b: bool, f: float, i: int, s: str, path: Path, secret: Secret
    ) -> Output:
        return Output(b=b, f=f, i=i, s=s, path=path, secret=secret)
