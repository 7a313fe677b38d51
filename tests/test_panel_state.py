"""PanelState: the panel's state machine, fed real prediction responses and events."""

from __future__ import annotations

import json
import pathlib

import pytest

from replicate_widgets._client.types import Prediction
from replicate_widgets._widgets.panel.state import (
    PanelState,
    is_file_url,
    output_kind_of,
    summarize_embedding,
)

RESPONSES = pathlib.Path(__file__).parent / "fixtures" / "responses"


def load(name: str) -> Prediction:
    return Prediction.from_json(json.loads((RESPONSES / name).read_text()))


def test_sdxl_lifecycle_from_real_responses():
    """starting -> processing (tqdm logs) -> succeeded (image URLs, metrics)."""
    state = PanelState()
    state.apply_prediction(load("prediction-starting.json"), now=1000.0)
    assert state.status == "starting"
    assert [p.status for p in state.phases] == ["starting"]

    processing = load("prediction-processing.json")
    state.apply_prediction(processing, now=1010.0)
    assert state.status == "processing"
    assert state.progress() == {"fraction": 19 / 50, "current": 19, "total": 50}
    assert "txt2img mode" in state.logs.full

    done = load("prediction-succeeded.json")
    state.apply_prediction(done, now=1020.0)
    assert state.status == "succeeded"
    assert state.final
    assert state.kind == "files"
    assert state.file_urls == done.output
    assert state.metrics["predict_time"] == done.metrics["predict_time"]
    assert state.logs.full == done.logs
    timeline = state.timeline(now=1030.0)
    assert [t["status"] for t in timeline] == ["starting", "processing", "succeeded"]
    assert not any(t["open"] for t in timeline)


def test_canceled_response_ends_the_timeline():
    state = PanelState()
    state.apply_prediction(load("prediction-canceled.json"), now=5.0)
    # Found already finished: the phases it went through are rebuilt from timestamps.
    assert [p.status for p in state.phases] == ["starting", "processing", "canceled"]
    timeline = state.timeline(now=6.0)
    assert timeline[0]["seconds"] == pytest.approx(0.047, abs=1e-3)  # created->started
    assert timeline[1]["seconds"] == pytest.approx(
        0.128, abs=1e-3
    )  # started->completed
    assert state.text == ""
    assert state.file_urls == []


def test_streamed_tokens_equal_the_final_output():
    """A real partial token list, then SSE output events, then the final re-fetch."""
    partial = load("prediction-processing-streamed-tokens.json")
    tokens = partial.output
    state = PanelState("text-stream")
    state.apply_prediction(
        Prediction.from_json({**partial.raw, "output": None, "status": "starting"}), 1.0
    )
    for i, token in enumerate(tokens):
        state.apply_event("output", token, 2.0 + i)
    assert state.status == "processing"
    assert state.text == "".join(tokens)
    # A mid-run poll must not add the tokens a second time.
    state.apply_prediction(partial, 30.0)
    assert state.text == "".join(tokens)
    final = Prediction.from_json(
        {**partial.raw, "status": "succeeded", "output": [*tokens, " more"]}
    )
    state.apply_prediction(final, 40.0)
    assert state.text == "".join(tokens) + " more"


def test_polling_shows_a_growing_iterator_output():
    base = load("prediction-processing-streamed-tokens.json").raw
    state = PanelState()
    for n in (2, 5, 12):
        state.apply_prediction(
            Prediction.from_json({**base, "output": base["output"][:n]}), n
        )
        assert state.text == "".join(base["output"][:n])
    assert state.kind == "text-stream"


def test_file_stream_events_collect_intermediate_images():
    state = PanelState()
    state.apply_prediction(load("prediction-starting.json"), 0.0)
    urls = [f"https://replicate.delivery/pbxt/abc/zoom-{i}.png" for i in range(3)]
    for url in urls:
        state.apply_event("output", url, 1.0)
    state.apply_event("logs", " 50%|#####     | 5/10 [00:01<00:01]", 1.5)
    assert state.kind == "file-stream"
    assert state.file_urls == urls
    assert state.progress()["current"] == 5
    assert state.text == ""


def test_error_event_and_failed_prediction():
    state = PanelState()
    state.apply_prediction(load("prediction-starting.json"), 0.0)
    state.apply_event("logs", "Traceback (most recent call last):", 1.0)
    state.apply_event("error", json.dumps({"detail": "CUDA out of memory"}), 2.0)
    state.apply_event("done", json.dumps({"reason": "error"}), 2.0)
    assert state.error == "CUDA out of memory"
    failed = Prediction.from_json(
        {
            **load("prediction-starting.json").raw,
            "status": "failed",
            "error": "CUDA out of memory",
            "logs": "Traceback (most recent call last):\n",
        }
    )
    state.apply_prediction(failed, 3.0)
    assert state.status == "failed"
    assert state.phases[-1].status == "failed"


def test_status_never_goes_backwards():
    state = PanelState()
    state.apply_prediction(load("prediction-processing.json"), 1.0)
    state.apply_prediction(load("prediction-starting.json"), 2.0)
    assert state.status == "processing"
    state.apply_prediction(load("prediction-canceled.json"), 3.0)
    state.apply_prediction(load("prediction-processing.json"), 4.0)
    assert state.status == "canceled"


def test_aborted_is_terminal():
    raw = {**load("prediction-starting.json").raw, "status": "aborted"}
    state = PanelState()
    state.apply_prediction(Prediction.from_json(raw), 1.0)
    assert state.final
    assert state.status == "aborted"


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ("hello", "text"),
        ("https://replicate.delivery/x/out.png", "file"),
        ("data:image/png;base64,iVBORw0KGgo=", "file"),
        (["https://a/1.png", "https://a/2.png"], "files"),
        (["Fuzzy", " gentle"], "text-stream"),
        ([0.1, -0.2, 0.3], "embedding"),
        ([[0.1, 0.2], [0.3, 0.4]], "embedding"),
        ({"caption": "a cat", "mask": "https://a/m.png"}, "object"),
        (True, "boolean"),
        (3.5, "number"),
        ([{"a": 1}], "json"),
    ],
)
def test_unlabelled_outputs_are_sniffed(output, kind):
    raw = {**load("prediction-succeeded.json").raw, "output": output}
    state = PanelState()
    state.apply_prediction(Prediction.from_json(raw), 1.0)
    assert state.kind == kind


def test_object_output_with_files_inside():
    output = {"caption": "a cat", "images": ["https://a/1.png"], "n": 1}
    raw = {**load("prediction-succeeded.json").raw, "output": output}
    state = PanelState("object")
    state.apply_prediction(Prediction.from_json(raw), 1.0)
    assert state.object_urls() == ["https://a/1.png"]
    shown = state.value_with_media({"https://a/1.png": "m0"})
    assert shown == {"caption": "a cat", "images": [{"__media__": "m0"}], "n": 1}


def test_embedding_summary():
    summary = summarize_embedding([3.0, 4.0, 0.0])
    assert summary["shape"] == [3]
    assert summary["norm"] == pytest.approx(5.0)
    assert summary["min"] == 0.0
    assert summary["max"] == 4.0
    assert summarize_embedding([[1.0, 2.0], [3.0, 4.0]])["shape"] == [2, 2]


def test_output_kind_accepts_strings_and_specs():
    class Spec:
        kind = "file-stream"

    assert output_kind_of(None) is None
    assert output_kind_of("files") == "files"
    assert output_kind_of(Spec()) == "file-stream"
    with pytest.raises(ValueError, match="Unknown output kind 'picture'"):
        output_kind_of("picture")


def test_markdownish_text_stays_text():
    state = PanelState()
    state.apply_event("output", "<script>alert(1)</script> **bold**", 1.0)
    assert state.kind == "text-stream"
    assert state.text == "<script>alert(1)</script> **bold**"


def test_is_file_url():
    assert is_file_url("https://x/y.png")
    assert not is_file_url("see https://x/y.png\nfor more")
    assert not is_file_url(3)


def test_when_events_carry_content_snapshots_do_not_double_it():
    """The follower's case: a mid-run GET, then the stream replays from the start."""
    partial = load("prediction-processing-streamed-tokens.json")
    state = PanelState()
    state.events_carry_content = True
    state.apply_prediction(
        Prediction.from_json({**partial.raw, "logs": "seed 1\n"}), 1.0
    )
    assert state.text == ""
    assert state.logs.full == ""
    state.apply_event("logs", "seed 1", 2.0)
    for token in partial.output:
        state.apply_event("output", token, 2.0)
    state.apply_prediction(partial, 3.0)  # a status poll mid-run
    assert state.logs.full == "seed 1\n"
    assert state.text == "".join(partial.output)


def test_booting_only_when_the_backend_says_so_while_starting():
    # Replicate's own responses never say it: a long start is not called a boot.
    state = PanelState()
    state.apply_prediction(load("prediction-starting.json"), now=1000.0)
    assert state.booting is False
    # The local backend marks a prediction whose model's process is starting.
    raw = json.loads((RESPONSES / "prediction-starting.json").read_text())
    state.apply_prediction(Prediction.from_json({**raw, "booting": True}), now=1001.0)
    assert state.booting is True
    state.apply_prediction(load("prediction-processing.json"), now=1010.0)
    assert state.booting is False
