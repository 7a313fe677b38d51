"""A test model whose logs redraw a progress bar with \\r and write partial lines."""

import sys
import time

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        steps: int = Input(description="Progress bar steps", default=20, ge=1, le=500),
        delay: float = Input(description="Seconds per step", default=0.02, ge=0, le=1),
    ) -> str:
        print("loading", end="", flush=True)
        time.sleep(delay)
        print(" done", flush=True)
        for i in range(steps + 1):
            sys.stderr.write(f"\r{i:3d}/{steps} |{'#' * i}{' ' * (steps - i)}|")
            sys.stderr.flush()
            time.sleep(delay)
        sys.stderr.write("\n")
        print("partial", end="", flush=True)
        time.sleep(delay)
        print(" line", flush=True)
        print("last line without newline", end="", flush=True)
        return "ok"
