import os

from cog import BaseRunner

# Read at import time, as model code often does (cache folders, model ids).
AT_IMPORT = os.environ.get("TEST_VAR", "<unset>")


class Runner(BaseRunner):
    def setup(self) -> None:
        self.at_setup = os.environ.get("NAME", "<unset>")

    def run(self, name: str) -> str:
        return f"ENV[{name}]={os.getenv(name)} import={AT_IMPORT} setup={self.at_setup}"
