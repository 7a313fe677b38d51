"""A 2x2 Sweep as a marimo app (test_marimo_e2e.py)."""

import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    import replicate_widgets as rw

    sweep = rw.Sweep(
        "demo/fractal",
        base={"width": 256, "height": 256},
        grid={"seed": [1, 2], "steps": [3, 6]},
    )
    sweep.start()
    sweep
    return


if __name__ == "__main__":
    app.run()
