"""A test-friendly model: echoes text after an optional delay, or fails on request."""

import os
import sys
import time

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        text: str = Input(description="Text to echo back", default="ping"),
        delay: float = Input(
            description="Seconds to wait before answering", default=0.0, ge=0, le=60
        ),
        fail: bool = Input(
            description="Raise an error instead of answering", default=False
        ),
        crash: bool = Input(
            description="Kill the model's own process (tests crash recovery)",
            default=False,
        ),
    ) -> str:
        print(f"echo: waiting {delay:.2f} s")
        waited = 0.0
        # Sleep in small steps so a cancellation lands promptly.
        while waited < delay:
            time.sleep(min(0.05, delay - waited))
            waited += 0.05
        if crash:
            print("echo: crashing on purpose", flush=True)
            sys.stdout.flush()
            os._exit(3)
        if fail:
            print("echo: failing on purpose", file=sys.stderr)
            raise ValueError("failed on purpose (fail=true)")
        return text
