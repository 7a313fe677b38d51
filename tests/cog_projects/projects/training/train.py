from cog import BaseModel, Input, Path


class TrainingOutput(BaseModel):
    weights: Path


def train(
    n: int = Input(description="How many bytes of weights", ge=1),
) -> TrainingOutput:
    with open("weights.bin", "w") as fh:
        fh.write("a" * n)
    return TrainingOutput(weights=Path("weights.bin"))
