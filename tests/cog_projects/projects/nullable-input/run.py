from typing import Optional

from cog import BaseRunner, Input


class Runner(BaseRunner):
    def run(
        self,
        text: str,
        suffix: Optional[str] = Input(default=None, description="Appended if given"),
        repeat: int = Input(default=1),
    ) -> str:
        return f"{text}{suffix or ''}" * repeat + f" (suffix={suffix!r})"
