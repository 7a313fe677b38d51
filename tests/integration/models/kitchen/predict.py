# ruff: noqa: B008, UP045 -- cog reads Input() defaults and Optional[...] annotations
"""A test model that exercises secrets, nullable file inputs and file outputs."""

from typing import Optional

from cog import BaseRunner, Input, Path, Secret


class Predictor(BaseRunner):
    def run(
        self,
        text: str = Input(
            description="Text written into every output file", default="hi"
        ),
        api_key: Optional[Secret] = Input(
            description="A secret; only its length is logged", default=None
        ),
        document: Optional[Path] = Input(
            description="A text file whose content is appended", default=None
        ),
        count: int = Input(description="How many output files", default=2, ge=0, le=20),
    ) -> list[Path]:
        secret = api_key.get_secret_value() if api_key is not None else ""
        print(f"secret length {len(secret)}")
        extra = document.read_text() if document is not None else ""
        outputs = []
        for i in range(count):
            out = Path(f"/tmp/kitchen-{i}-{id(self)}-{text[:8]}.txt")
            out.write_text(f"{i}:{text}:{extra}")
            outputs.append(out)
        return outputs
