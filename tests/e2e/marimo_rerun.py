"""A Playground whose cell runs again when a slider moves (test_marimo_e2e.py)."""

import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    import marimo as mo

    import replicate_widgets as rw

    knob = mo.ui.slider(1, 2, value=1, label="knob")
    knob
    return knob, rw


@app.cell
def _(knob, rw):
    # demo/echo runs one prediction at a time: the second can run only once the
    # first (a minute long) has stopped.
    pg = rw.Playground("demo/echo")
    if knob.value == 1:
        pg.form.set(text="the first run", delay=60)
    else:
        pg.form.set(text="after the re-run", delay=0)
    pg.form.submit()
    pg
    return


if __name__ == "__main__":
    app.run()
