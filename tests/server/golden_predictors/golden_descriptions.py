from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        b: bool = Input(description="boolean field"),
        f: float = Input(description="float field"),
        i: int = Input(description="integer field"),
        s: str = Input(description="string field"),
        p: Path = Input(description="path field"),
    ) -> str:
        return s
