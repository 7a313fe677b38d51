import asyncio
from pathlib import Path as FsPath
from typing import AsyncIterator

import cog
from cog import BaseRunner, Input


class Runner(BaseRunner):
    async def setup(self) -> None:
        self.prefix = "chunk"

    @cog.concurrent(max=4)
    async def run(
        self,
        n: int = Input(default=3, ge=1),
        gate: str = Input(
            default="", description="Before item i > 0, wait for the file <gate>.<i>"
        ),
        marker: str = Input(default="", description="Written when the run stops"),
    ) -> AsyncIterator[str]:
        try:
            for i in range(n):
                seen = True
                if i and gate:
                    # The client creates the file once it has seen item i-1;
                    # give up after a while so that a model whose items are
                    # not delivered live still finishes (and says so).
                    for _ in range(1500):
                        if FsPath(f"{gate}.{i}").exists():
                            break
                        await asyncio.sleep(0.02)
                    else:
                        seen = False
                yield f"{self.prefix}-{i}" + ("" if seen else " (previous not seen)")
        finally:
            if marker:
                FsPath(marker).write_text("closed")
