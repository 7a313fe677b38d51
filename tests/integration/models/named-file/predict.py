"""A test model that returns one file under whatever name it is asked for."""

import tempfile

from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        name: str = Input(description="The output file's name", default="result.txt"),
        text: str = Input(description="What the file holds", default="hello"),
    ) -> Path:
        out = Path(tempfile.mkdtemp(prefix="named-file-")) / name
        out.write_text(text)
        return out
