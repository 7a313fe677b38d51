"""One run of replicate/hello-world as a marimo app (test_marimo_e2e.py)."""

import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    import marimo as mo

    import replicate_widgets as rw

    hello = rw.Playground("replicate/hello-world")
    hello
    return hello, mo


@app.cell
def _(hello, mo):
    hello.run(text="from marimo")
    mo.plain_text(f"ran: {hello.output}")
    return


if __name__ == "__main__":
    app.run()
