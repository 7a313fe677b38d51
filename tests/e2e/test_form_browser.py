"""InputForm in a real JupyterLab, in headless Chromium.

The notebook builds forms for the largest real schemas; the kernel writes what it
sees (``values``, ``errors``, uploaded file hashes, submits) to files in the
notebook's folder, which the test reads to prove browser -> kernel delivery.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from labharness import ARTIFACTS, REPO
from nbdriver import open_and_run, wait_until_all_ran, write_notebook
from PIL import Image
from playwright.sync_api import expect

FIXTURES = REPO / "tests" / "fixtures" / "schemas"
BIG = [
    "nightmareai__disco-diffusion",
    "fofr__sdxl-multi-controlnet-lora",
    "cjwbw__vq-diffusion",
]
HOSTILE = {
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "properties": {
                    "note": {
                        "type": "string",
                        "title": "Note",
                        "x-order": 0,
                        "description": (
                            '<img src=x onerror="window.__pwned=1"> '
                            "[bad](javascript:window.__pwned=2) "
                            "<script>window.__pwned=3</script> "
                            "stop at `<|eot_id|>` or <|end|>; see https://example.com/docs"
                        ),
                    },
                    "token": {
                        "type": "string",
                        "format": "password",
                        "writeOnly": True,
                        "x-cog-secret": True,
                        "title": "Token",
                        "x-order": 1,
                    },
                },
            }
        }
    }
}

SETUP = """\
import hashlib, json, pathlib
from replicate_widgets._widgets.form import InputForm

FIX = pathlib.Path({fixtures!r})
OUT = pathlib.Path("kernel-out")
OUT.mkdir(exist_ok=True)


def watch(name, form):
    def dump(_change=None):
        state = {{"values": form.values, "errors": form.errors}}
        try:
            inputs = form.to_input()
            state["files"] = {{
                k: hashlib.sha256(v.getvalue()).hexdigest()
                for k, v in inputs.items() if hasattr(v, "getvalue")
            }}
            if "token" in inputs:
                token = inputs["token"].encode()
                state["token_sha"] = hashlib.sha256(token).hexdigest()
        except ValueError as exc:
            state["invalid"] = str(exc)
        (OUT / f"{{name}}.json").write_text(json.dumps(state, default=str))

    def submitted(inputs):
        (OUT / f"{{name}}-submitted.json").write_text(json.dumps(sorted(inputs)))

    form.observe(dump, names=["values", "errors"])
    form.on_submit(submitted)
    dump()
    return form


forms = {{
    n: watch(n, InputForm(json.loads((FIX / f"{{n}}.json").read_text())))
    for n in {names!r}
}}
forms["hostile"] = watch("hostile", InputForm(json.loads({hostile!r})))
"""


def open_and_run_all(page: Any, lab: Any) -> None:
    cells = [
        SETUP.format(fixtures=str(FIXTURES), names=BIG, hostile=json.dumps(HOSTILE)),
        *[f"forms[{n!r}]" for n in [*BIG, "hostile"]],
    ]
    open_and_run(page, lab, write_notebook(lab.root, "forms.ipynb", cells))
    wait_until_all_ran(page, timeout_ms=60_000)
    expect(page.locator(".rw-form")).to_have_count(len(BIG) + 1, timeout=30_000)


def kernel_state(
    lab: Any, name: str, check: Any, timeout: float = 15
) -> dict[str, Any]:
    """Wait until the kernel's dump for form `name` satisfies `check`; return it."""
    path = lab.root / "kernel-out" / f"{name}.json"
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if path.exists():
            try:
                last = json.loads(path.read_text())
            except ValueError:  # caught mid-write
                last = {}
            if last and check(last):
                return last
        time.sleep(0.05)
    raise AssertionError(f"kernel never reached the expected state for {name}: {last}")


def x_order(name: str) -> list[str]:
    """Input names sorted by x-order, straight from the raw schema."""
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    props = doc["components"]["schemas"]["Input"]["properties"]
    return [k for k, _ in sorted(props.items(), key=lambda kv: kv[1]["x-order"])]


def set_theme(page: Any, theme: str) -> None:
    page.evaluate(
        "t => jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme
    )


def form(page: Any, index: int) -> Any:
    return page.locator(".rw-form").nth(index)


def test_big_real_forms_render_in_order_and_sync(page, lab):
    open_and_run_all(page, lab)

    for i, name in enumerate(BIG):
        rows = form(page, i).locator(".rw-form-field")
        names = rows.evaluate_all("rs => rs.map(r => r.dataset.field)")
        assert names == x_order(name), name
    assert len(x_order(BIG[0])) == 43
    # Every control in every form has a label the browser can compute.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('.rw-form input, .rw-form select,'
             + ' .rw-form textarea')].filter(e => !(e.labels?.length
             || e.getAttribute('aria-label'))).map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unlabelled == []
    # Tall enough for a whole 43-field form: element screenshots clip to the viewport.
    page.set_viewport_size({"width": 1280, "height": 4200})
    form(page, 0).screenshot(path=str(ARTIFACTS / "form-disco-light.png"))

    # Typing reaches the kernel's `values`.
    lora = form(page, 1)
    prompt = lora.locator('[data-field="prompt"] textarea')
    prompt.fill("a lighthouse in a storm")
    kernel_state(
        lab, BIG[1], lambda s: s["values"].get("prompt") == "a lighthouse in a storm"
    )

    # An out-of-range value gets the schema layer's message under its field; Run is off.
    outputs = lora.locator('[data-field="num_outputs"] .rw-form-numbox')
    outputs.fill("9")
    state = kernel_state(lab, BIG[1], lambda s: "num_outputs" in s["errors"])
    message = lora.locator('[data-field="num_outputs"] .rw-form-error')
    expect(message).to_have_text(state["errors"]["num_outputs"])
    expect(lora.locator(".rw-form-run")).to_be_disabled()
    lora.locator('[data-field="num_outputs"]').screenshot(
        path=str(ARTIFACTS / "invalid.png")
    )
    # Text that is not an integer is refused in the browser, with a reason.
    outputs.fill("2.5")
    expect(message).to_contain_text("whole number")
    outputs.fill("2")
    kernel_state(
        lab, BIG[1], lambda s: s["values"].get("num_outputs") == 2 and not s["errors"]
    )
    expect(lora.locator(".rw-form-run")).to_be_enabled()

    # The slider and the number box move together, and the kernel follows.
    slider = lora.locator('[data-field="guidance_scale"] .rw-form-slider')
    slider.focus()
    slider.press("ArrowRight")
    kernel_state(lab, BIG[1], lambda s: abs(s["values"]["guidance_scale"] - 7.6) < 1e-9)

    # The 1001-class dropdown searches as you type; the choice reaches the kernel.
    vq = form(page, 2)
    combo = vq.locator('[data-field="image_class"] [role=combobox]')
    combo.click()
    combo.press_sequentially("goldfish")
    options = vq.locator('[data-field="image_class"] [role=option]')
    expect(options.first).to_contain_text("goldfish")
    combo.press("ArrowDown")
    combo.press("ArrowUp")
    combo.press("Enter")
    state = kernel_state(
        lab, BIG[2], lambda s: "goldfish" in str(s["values"].get("image_class"))
    )

    # Tab walks through the controls in order, then to Run and Reset.
    vq.locator('[data-field="generation_type"] select').focus()
    walk = []
    for _ in range(7):
        page.keyboard.press("Tab")
        walk.append(
            page.evaluate(
                "() => { const a = document.activeElement;"
                " return a.closest('[data-field]')?.dataset.field ?? a.className; }"
            )
        )
    assert walk == [
        "prompt",
        "image_class",
        "truncation_rate",
        "truncation_rate",  # the number box, then its slider
        "guidance_scale",
        "rw-form-button rw-form-run",
        "rw-form-button rw-form-reset",
    ]

    # Ctrl+Enter in a field submits the form (and does not re-run the cell).
    counts_before = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    prompt.focus()
    page.keyboard.press("Control+Enter")
    submitted = lab.root / "kernel-out" / f"{BIG[1]}-submitted.json"
    deadline = time.monotonic() + 15
    while not submitted.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "prompt" in json.loads(submitted.read_text())
    assert (
        page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts() == counts_before
    )

    lora.screenshot(path=str(ARTIFACTS / "form-lora-light.png"))
    set_theme(page, "JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)  # let the theme's stylesheet apply before the picture
    lora.screenshot(path=str(ARTIFACTS / "form-lora-dark.png"))
    vq.screenshot(path=str(ARTIFACTS / "form-vq-dark.png"))
    set_theme(page, "JupyterLab Light")
    assert page.js_errors == []
    assert page.console_errors == []
    assert page.external_requests == []


def test_file_chosen_in_the_browser_arrives_in_the_kernel(page, lab, tmp_path):
    open_and_run_all(page, lab)
    picture = tmp_path / "lighthouse.png"
    Image.new("RGB", (48, 32), (40, 90, 200)).save(picture)
    png = picture.read_bytes()
    lora = form(page, 1)
    field = lora.locator('[data-field="image"]')
    field.locator("input[type=file]").set_input_files(str(picture))
    state = kernel_state(lab, BIG[1], lambda s: "image" in s.get("files", {}))
    assert state["files"]["image"] == hashlib.sha256(png).hexdigest()
    assert state["values"]["image"]["name"] == "lighthouse.png"
    assert state["values"]["image"]["type"] == "image/png"
    expect(field.locator("img.rw-form-thumb")).to_be_visible()
    expect(field.locator(".rw-form-file-info")).to_contain_text("lighthouse.png")
    field.screenshot(path=str(ARTIFACTS / "file-field.png"))
    # Clearing it unsets the input in the kernel too.
    field.locator(".rw-form-file-clear").click()
    kernel_state(lab, BIG[1], lambda s: "image" not in s["values"])
    assert page.js_errors == []


def test_descriptions_are_sanitised_and_secrets_stay_in_the_kernel(page, lab):
    open_and_run_all(page, lab)
    desc = form(page, 3).locator('[data-field="note"] .rw-form-desc')
    expect(desc).to_contain_text("<|end|>")
    expect(desc.locator("code")).to_have_text("<|eot_id|>")
    link = desc.locator("a[href='https://example.com/docs']")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert desc.locator("a[href^='javascript']").count() == 0
    assert desc.locator("img, script").count() == 0
    desc.locator("a", has_text="bad").click()  # a neutered link does nothing
    assert page.evaluate("window.__pwned") is None
    form(page, 3).screenshot(path=str(ARTIFACTS / "form-hostile.png"))

    secret = "r8_browser_only_secret"
    form(page, 3).locator('[data-field="token"] input[type=password]').fill(secret)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    kernel_state(lab, "hostile", lambda s: s.get("token_sha") == digest)
    # Save the notebook with its widget state: the marker is there, the secret is not.
    page.evaluate("jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / "forms.ipynb"
    deadline = time.monotonic() + 15
    while "__secret__" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "__secret__" in saved.read_text()
    assert secret not in saved.read_text()
    assert page.js_errors == []
