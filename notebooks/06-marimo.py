"""The quickstart (01-quickstart.ipynb) as a marimo notebook.

Open it with ``make demo-marimo``, or ``marimo edit notebooks/06-marimo.py`` (``marimo run``
shows it as an app). With no ``REPLICATE_API_TOKEN`` set it runs offline, on the local
backend. ``marimo edit`` runs no cell when it opens a notebook: press "Run all" (the
play button at the bottom right). Each widget is a cell's value (docs/front-ends.md).
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import replicate_widgets as rw

    return mo, rw


@app.cell
def _(mo):
    mo.md(r"""
    # Quickstart: run a model in marimo

    `replicate_widgets` turns any Replicate model into a form you can fill in and run, and
    shows the prediction live: status, logs, progress, streamed text and images.

    This notebook runs **offline**: with no `REPLICATE_API_TOKEN` set, the widgets use the
    *local backend*, a Replicate-compatible server on `127.0.0.1` that runs real Cog models
    on this machine (look for the **local backend** badge).
    """)
    return


@app.cell
def _(rw):
    hello = rw.Playground("replicate/hello-world")
    hello
    return (hello,)


@app.cell
def _(mo):
    mo.md(r"""
    The form starts with the model's example, ready to run: type a name and press **Run**
    (or Ctrl+Enter). The same run from Python:
    """)
    return


@app.cell
def _(hello, mo):
    prediction = hello.run(text="Alice")
    # A cell's value, not print(): an app (`marimo run`) shows no console.
    mo.plain_text(f"{prediction.status} -> {hello.output}")
    return


@app.cell
def _(mo):
    mo.md(r"""
    ## Images that refine as they are computed

    `demo/fractal` yields intermediate images and logs a progress bar. Pick a colour map
    and press **Run**.
    """)
    return


@app.cell
def _(rw):
    fractal = rw.Playground("demo/fractal")
    fractal
    return (fractal,)


@app.cell
def _(fractal):
    fractal.run(steps=6)
    images = fractal.output  # a list of PIL images, one per refinement step
    images[-1]
    return


@app.cell
def _(mo):
    mo.md(r"""
    ## Streamed text

    `demo/text-stream` is a small n-gram language model; its tokens appear one by one.
    """)
    return


@app.cell
def _(rw):
    writer = rw.Playground("demo/text-stream")
    writer
    return (writer,)


@app.cell
def _(mo, writer):
    import textwrap

    writer.run(prompt="It was a bright cold day", max_tokens=40, seed=7)
    mo.plain_text(textwrap.fill(writer.output, 60))  # plain text keeps long lines
    return


@app.cell
def _(mo):
    mo.md(r"""
    ## Sound

    `demo/chiptune` writes a short tune as a WAV file: the panel plays it.
    """)
    return


@app.cell
def _(rw):
    tune = rw.Playground("demo/chiptune")
    tune
    return (tune,)


@app.cell
def _(mo):
    mo.md(r"""
    ## Every model

    The browser lists the models of the backend; **Open** makes a Playground for one.
    """)
    return


@app.cell
def _(rw):
    browser = rw.ModelBrowser()
    browser
    return


if __name__ == "__main__":
    app.run()
