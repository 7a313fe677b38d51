"""Table-driven tests of the schema layer over every real fixture document.

The table below was written from the fixture files (reviewed by hand against each
property's type, format, enum and the kind heuristics); the other tests recompute what
they expect straight from the raw JSON, independently of the code under test.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets.schema import SECRET_MASK, Field, ModelSchema, SchemaError, parse

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = sorted([*FIXTURES.glob("schemas/*.json"), *FIXTURES.glob("cog-golden/*.json")])


def load(name: str) -> dict[str, Any]:
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


# (fixture, component, output kind, "name:kind ..." in form order)
TABLE: list[tuple[str, str, str, str]] = [
    (
        "cog-golden/choices",
        "Input",
        "text",
        "i:choice i_wd:choice s:choice s_wd:choice",
    ),
    ("cog-golden/custom_output", "Input", "json", "i:integer"),
    ("cog-golden/decorator", "Input", "text", "s:string"),
    (
        "cog-golden/defaults",
        "Input",
        "text",
        "b:boolean f:number i:integer s:string p:file",
    ),
    ("cog-golden/deprecated", "Input", "text", "s:string"),
    (
        "cog-golden/descriptions",
        "Input",
        "text",
        "b:boolean f:number i:integer s:string p:file",
    ),
    ("cog-golden/enums", "Input", "text", "c:choice n:number"),
    ("cog-golden/floats", "Input", "text", "f1:number f2:number f3:array f4:array"),
    (
        "cog-golden/input_function_test",
        "Input",
        "text",
        "message:text repeat_count:integer format_type:choice prefix:string "
        "suffix:string legacy_option:string",
    ),
    (
        "cog-golden/length",
        "Input",
        "text",
        "s_min:string s_max:string s_min_max:string s_min_max_wd:string",
    ),
    (
        "cog-golden/lists",
        "Input",
        "text",
        "f1:array f2:array i1:array i2:array b_wd:array f_wd:array i_wd:array "
        "s_wd:array",
    ),
    ("cog-golden/output_any", "Input", "json", "x:integer"),
    ("cog-golden/output_bool", "Input", "boolean", "x:boolean y:boolean"),
    ("cog-golden/output_complex_types", "Input", "json", "s:string"),
    ("cog-golden/output_concat_iter", "Input", "text-stream", "xs:array"),
    ("cog-golden/output_float", "Input", "text", "x:number y:number"),
    ("cog-golden/output_int", "Input", "number", "x:integer y:integer"),
    ("cog-golden/output_iterator", "Input", "json", "xs:array"),
    ("cog-golden/output_list", "Input", "json", ""),
    ("cog-golden/output_list1", "Input", "embedding", "xs:array"),
    ("cog-golden/output_list2", "Input", "embedding", "xs:array"),
    (
        "cog-golden/output_object",
        "Input",
        "object",
        "b:boolean f:number i:integer s:string path:file secret:secret",
    ),
    ("cog-golden/output_path", "Input", "file", "x:file"),
    ("cog-golden/output_secret", "Input", "text", "x:secret"),
    ("cog-golden/output_str", "Input", "text", "x:string"),
    ("cog-golden/paths", "Input", "files", "p1:file p2:file p3:file ps:array"),
    ("cog-golden/primitives", "Input", "text", "b:boolean f:number i:integer s:string"),
    (
        "cog-golden/range",
        "Input",
        "text",
        "int_ge:integer int_le:integer int_ge_le:integer int_ge_le_wd:integer "
        "float_ge:number float_le:number float_ge_le:number "
        "float_ge_le_wd:number float_ge_i:number float_le_i:number "
        "float_ge_le_i:number float_ge_le_i_wd:number",
    ),
    ("cog-golden/regex", "Input", "text", "r:string r_wd:string"),
    ("cog-golden/weights", "Input", "text", "i:integer"),
    (
        "schemas/afiaka87__retrieval-augmented-diffusion",
        "Input",
        "json",
        "prompts:text image_prompt:file number_of_variations:integer "
        "database_name:choice use_database:boolean scale:number "
        "num_database_results:integer height:integer width:integer "
        "steps:integer ddim_sampling:boolean ddim_eta:number "
        "negative_prompt:text seed:integer",
    ),
    (
        "schemas/andreasjansson__llama-2-13b-embeddings",
        "Input",
        "embedding",
        "prompts:text prompt_separator:text",
    ),
    (
        "schemas/batouresearch__high-resolution-controlnet-tile",
        "Input",
        "file",
        "prompt:text image:file resolution:choice resemblance:number "
        "creativity:number hdr:number scheduler:choice steps:integer "
        "guidance_scale:number seed:integer negative_prompt:text "
        "guess_mode:boolean lora_sharpness_strength:number "
        "lora_details_strength:number format:choice",
    ),
    (
        "schemas/black-forest-labs__flux-dev",
        "Input",
        "files",
        "prompt:text aspect_ratio:choice image:file prompt_strength:number "
        "num_outputs:integer num_inference_steps:integer guidance:number "
        "seed:integer output_format:choice output_quality:integer "
        "disable_safety_checker:boolean go_fast:boolean megapixels:choice",
    ),
    (
        "schemas/black-forest-labs__flux-schnell",
        "Input",
        "files",
        "prompt:text aspect_ratio:choice num_outputs:integer seed:integer "
        "output_format:choice output_quality:integer "
        "disable_safety_checker:boolean go_fast:boolean megapixels:choice",
    ),
    (
        "schemas/borisdayma__dalle-mini",
        "Input",
        "json",
        "prompt:text n_predictions:integer show_clip_score:boolean",
    ),
    (
        "schemas/bytedance__seedance-1-pro",
        "Input",
        "json",
        "prompt:text image:file last_frame_image:file duration:integer "
        "resolution:choice aspect_ratio:choice fps:choice camera_fixed:boolean "
        "seed:integer",
    ),
    (
        "schemas/chigozienri__image-urls-to-video",
        "Input",
        "object",
        "image_urls:string mp4:boolean fps:number output_zip:boolean",
    ),
    (
        "schemas/cjwbw__supir",
        "Input",
        "file",
        "model_name:choice image:file upscale:integer min_size:number "
        "edm_steps:integer use_llava:boolean a_prompt:text n_prompt:text "
        "color_fix_type:choice s_stage1:integer s_churn:number s_noise:number "
        "s_cfg:number s_stage2:number linear_CFG:boolean "
        "linear_s_stage2:boolean spt_linear_CFG:number "
        "spt_linear_s_stage2:number seed:integer",
    ),
    (
        "schemas/cjwbw__vq-diffusion",
        "Input",
        "json",
        "generation_type:choice prompt:text image_class:choice "
        "truncation_rate:number guidance_scale:number",
    ),
    (
        "schemas/cuuupid__idm-vton",
        "Input",
        "file",
        "garm_img:file garment_des:string human_img:file mask_img:file "
        "category:choice crop:boolean force_dc:boolean mask_only:boolean "
        "steps:integer seed:integer",
    ),
    (
        "schemas/fofr__latent-consistency-model",
        "Input",
        "files",
        "prompt:text width:integer height:integer sizing_strategy:choice "
        "image:file prompt_strength:number num_images:integer "
        "num_inference_steps:integer guidance_scale:number "
        "lcm_origin_steps:integer seed:integer control_image:file "
        "controlnet_conditioning_scale:number control_guidance_start:number "
        "control_guidance_end:number canny_low_threshold:number "
        "canny_high_threshold:number archive_outputs:boolean",
    ),
    (
        "schemas/fofr__sdxl-multi-controlnet-lora",
        "Input",
        "files",
        "prompt:text negative_prompt:text image:file mask:file width:integer "
        "height:integer sizing_strategy:choice num_outputs:integer "
        "scheduler:choice num_inference_steps:integer guidance_scale:number "
        "prompt_strength:number seed:integer refine:choice refine_steps:integer "
        "apply_watermark:boolean lora_scale:number lora_weights:string "
        "disable_safety_checker:boolean controlnet_1:choice "
        "controlnet_1_image:file controlnet_1_conditioning_scale:number "
        "controlnet_1_start:number controlnet_1_end:number controlnet_2:choice "
        "controlnet_2_image:file controlnet_2_conditioning_scale:number "
        "controlnet_2_start:number controlnet_2_end:number controlnet_3:choice "
        "controlnet_3_image:file controlnet_3_conditioning_scale:number "
        "controlnet_3_start:number controlnet_3_end:number",
    ),
    (
        "schemas/gnobitab__fusedream",
        "Input",
        "json",
        "sentence:text init_iterations:integer opt_iterations:integer "
        "seed:integer model_size:choice",
    ),
    (
        "schemas/ideogram-ai__ideogram-v2",
        "Input",
        "file",
        "prompt:text negative_prompt:text aspect_ratio:choice resolution:choice "
        "magic_prompt_option:choice image:file mask:file style_type:choice "
        "seed:integer",
    ),
    (
        "schemas/laion-ai__erlich",
        "Input",
        "file-stream",
        "prompt:text negative:text init_image:file mask:file "
        "guidance_scale:number steps:integer batch_size:integer width:choice "
        "height:choice init_skip_fraction:number aesthetic_rating:integer "
        "aesthetic_weight:number seed:integer intermediate_outputs:boolean",
    ),
    (
        "schemas/meta__meta-llama-3-70b-instruct",
        "Input",
        "text-stream",
        "prompt:text system_prompt:text max_tokens:integer min_tokens:integer "
        "temperature:number top_p:number top_k:integer stop_sequences:string "
        "length_penalty:number presence_penalty:number seed:integer "
        "prompt_template:text log_performance_metrics:boolean",
    ),
    (
        "schemas/meta__meta-llama-3-8b-instruct",
        "Input",
        "text-stream",
        "prompt:text system_prompt:text temperature:number top_p:number "
        "top_k:integer stop_sequences:string length_penalty:number "
        "presence_penalty:number seed:integer prompt_template:text",
    ),
    (
        "schemas/meta__meta-llama-3.1-405b-instruct",
        "Input",
        "text-stream",
        "prompt:text system_prompt:text min_tokens:integer max_tokens:integer "
        "temperature:number top_p:number top_k:integer presence_penalty:number "
        "frequency_penalty:number stop_sequences:string",
    ),
    (
        "schemas/meta__meta-llama-3.1-405b-instruct",
        "TrainingInput",
        "object",
        "hf_model_id:string hf_model_sha:string hf_token:secret "
        "allow_patterns:string ignore_patterns:string prompt_template:text",
    ),
    (
        "schemas/meta__musicgen",
        "Input",
        "file",
        "model_version:choice prompt:text input_audio:file duration:integer "
        "continuation:boolean continuation_start:integer "
        "continuation_end:integer multi_band_diffusion:boolean "
        "normalization_strategy:choice top_k:integer top_p:number "
        "temperature:number classifier_free_guidance:integer "
        "output_format:choice seed:integer",
    ),
    (
        "schemas/nightmareai__cogvideo",
        "Input",
        "file-stream",
        "prompt:text seed:integer translate:boolean both_stages:boolean "
        "use_guidance:boolean image_prompt:file",
    ),
    (
        "schemas/nightmareai__disco-diffusion",
        "Input",
        "file-stream",
        "steps:integer prompt:text width:integer height:integer "
        "diffusion_model:choice diffusion_sampling_mode:choice ViTB32:boolean "
        "ViTB16:boolean ViTL14:boolean ViTL14_336:boolean RN50:boolean "
        "RN50x4:boolean RN50x16:boolean RN50x64:boolean RN50x101:boolean "
        "RN101:boolean ViTB32_laion2b_e16:boolean ViTB32_laion400m_e31:boolean "
        "ViTB32_laion400m_e32:boolean ViTB32quickgelu_laion400m_e31:boolean "
        "ViTB32quickgelu_laion400m_e32:boolean ViTB16_laion400m_e31:boolean "
        "ViTB16_laion400m_e32:boolean RN50_yffcc15m:boolean RN50_cc12m:boolean "
        "RN50_quickgelu_yfcc15m:boolean RN50_quickgelu_cc12m:boolean "
        "RN101_yfcc15m:boolean RN101_quickgelu_yfcc15m:boolean "
        "use_secondary_model:boolean clip_guidance_scale:integer "
        "tv_scale:integer range_scale:integer sat_scale:integer "
        "cutn_batches:integer skip_augs:boolean init_image:file "
        "target_image:file init_scale:integer target_scale:integer "
        "skip_steps:integer display_rate:integer seed:integer",
    ),
    (
        "schemas/nightmareai__majesty-diffusion",
        "Input",
        "file-stream",
        "clip_prompts:text latent_prompt:text height:choice width:choice "
        "clip_scale:integer latent_scale:integer aesthetic_loss_scale:integer "
        "starting_timestep:number model:choice latent_negative:text "
        "output_steps:choice init_image:file init_mask:file init_scale:integer "
        "init_brightness:number custom_settings:text",
    ),
    (
        "schemas/stability-ai__sdxl",
        "Input",
        "files",
        "prompt:text negative_prompt:text image:file mask:file width:integer "
        "height:integer num_outputs:integer scheduler:choice "
        "num_inference_steps:integer guidance_scale:number "
        "prompt_strength:number seed:integer refine:choice "
        "high_noise_frac:number refine_steps:integer apply_watermark:boolean "
        "lora_scale:number replicate_weights:string "
        "disable_safety_checker:boolean",
    ),
    (
        "schemas/stability-ai__sdxl",
        "TrainingInput",
        "object",
        "input_images:file seed:integer resolution:integer "
        "train_batch_size:integer num_train_epochs:integer "
        "max_train_steps:integer is_lora:boolean unet_learning_rate:number "
        "ti_lr:number lora_lr:number lora_rank:integer lr_scheduler:choice "
        "lr_warmup_steps:integer token_string:string caption_prefix:text "
        "mask_target_prompts:text crop_based_on_salience:boolean "
        "use_face_detection_instead:boolean clipseg_temperature:number "
        "verbose:boolean checkpointing_steps:integer "
        "input_images_filetype:choice",
    ),
    (
        "schemas/stability-ai__stable-diffusion",
        "Input",
        "files",
        "prompt:text height:choice width:choice negative_prompt:text "
        "num_outputs:integer num_inference_steps:integer guidance_scale:number "
        "scheduler:choice seed:integer",
    ),
    (
        "schemas/yorickvp__llava-13b",
        "Input",
        "text-stream",
        "image:file prompt:text top_p:number temperature:number max_tokens:integer",
    ),
    (
        "schemas/yorickvp__llava-13b",
        "TrainingInput",
        "object",
        "train_data:string num_train_epochs:integer learning_rate:number "
        "model_max_length:integer",
    ),
]

CASES = [(name, comp) for name, comp, _, _ in TABLE]


def components(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]  # type: ignore[no-any-return]


def resolved_raw(doc: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """The property merged with its `allOf` component, computed here independently."""
    merged: dict[str, Any] = {}
    for part in prop.get("allOf", []):
        merged.update(components(doc)[part["$ref"].split("/")[-1]])
    merged.update({k: v for k, v in prop.items() if k != "allOf"})
    return merged


def sample(field: Field) -> Any:
    """A valid value for a field that has no default (used for required inputs)."""
    if field.choices:
        return field.choices[-1]
    if field.kind == "file":
        return "https://example.com/input.png"
    if field.kind == "boolean":
        return True
    if field.kind in ("integer", "number"):
        value = field.minimum if field.minimum is not None else 1
        return int(value) if field.kind == "integer" else float(value)
    if field.kind == "array":
        assert field.items is not None
        return [sample(field.items)]
    if field.pattern == "https://.*":
        return "https://replicate.com"
    if field.kind == "secret":
        return "s3cr3t"
    text = "a lighthouse in a storm"
    if field.min_length is not None:
        text = text.ljust(field.min_length, "!")
    if field.max_length is not None:
        text = text[: field.max_length]
    return text


def complete(schema: ModelSchema) -> dict[str, Any]:
    values = schema.defaults()
    for f in schema.inputs:
        if f.required and f.name not in values:
            values[f.name] = sample(f)
    return values


def test_table_covers_every_fixture() -> None:
    assert {name for name, _ in CASES} == {fixture_id(p) for p in DOCS}
    trainable = {
        fixture_id(p)
        for p in DOCS
        if "TrainingInput" in components(json.loads(p.read_text("utf-8")))
    }
    assert {name for name, comp in CASES if comp == "TrainingInput"} == trainable


@pytest.mark.parametrize(("name", "component", "output", "fields"), TABLE)
def test_fields_kinds_order_and_output(
    name: str, component: str, output: str, fields: str
) -> None:
    schema = parse(load(name), component)
    assert " ".join(f"{f.name}:{f.kind}" for f in schema.inputs) == fields
    assert schema.output.kind == output
    assert schema.component == component
    assert all(f.problem is None for f in schema.inputs)


@pytest.mark.parametrize(("name", "component"), CASES)
def test_order_is_x_order_then_document_order(name: str, component: str) -> None:
    doc = load(name)
    props = components(doc)[component]["properties"]
    expected = sorted(
        props,
        key=lambda n: (props[n].get("x-order") is None, props[n].get("x-order", 0)),
    )
    schema = parse(doc, component)
    assert [f.name for f in schema.inputs] == expected
    assert [f.x_order for f in schema.inputs] == [props[n]["x-order"] for n in expected]


@pytest.mark.parametrize(("name", "component"), CASES)
def test_defaults_required_titles_and_bounds_follow_the_document(
    name: str, component: str
) -> None:
    doc = load(name)
    spec = components(doc)[component]
    required = set(spec.get("required", []))
    schema = parse(doc, component)
    for f in schema.inputs:
        raw = resolved_raw(doc, spec["properties"][f.name])
        own = spec["properties"][f.name]
        assert f.required == (f.name in required), f.name
        assert f.has_default == (raw.get("default") is not None), f.name
        if f.has_default:
            assert f.default == raw["default"], f.name
            if f.kind == "number":
                assert isinstance(f.default, float), f.name
        assert f.nullable == (
            raw.get("nullable") is True or ("default" in raw and raw["default"] is None)
        ), f.name
        title = own.get("title")
        if title and title != f.name:
            assert f.title == title
        else:
            assert f.title == f.name.replace("_", " ").title()
        description = own.get("description")
        assert f.description == (inspect.cleandoc(description) if description else None)
        assert f.minimum == raw.get("minimum", raw.get("ge")), f.name
        assert f.maximum == raw.get("maximum", raw.get("le")), f.name
        assert f.deprecated == bool(raw.get("deprecated")), f.name
        if "enum" in raw:
            assert f.kind == "choice"
            assert f.choices is not None
            assert len(f.choices) >= len(raw["enum"])
        if raw.get("format") == "uri":
            assert f.kind == "file"


@pytest.mark.parametrize(("name", "component"), CASES)
def test_validate_accepts_the_defaults(name: str, component: str) -> None:
    schema = parse(load(name), component)
    assert schema.validate(complete(schema)) == {}


@pytest.mark.parametrize(("name", "component"), CASES)
def test_required_inputs_are_reported_when_missing(name: str, component: str) -> None:
    schema = parse(load(name), component)
    errors = schema.validate(schema.defaults())
    missing = {f.name for f in schema.inputs if f.required and not f.has_default}
    assert errors == dict.fromkeys(missing, "is required")


@pytest.mark.parametrize(("name", "component"), CASES)
def test_to_input_round_trips(name: str, component: str) -> None:
    schema = parse(load(name), component)
    values = complete(schema)
    body = schema.to_input(values)
    # nothing invented, nothing lost except a default the schema itself contradicts
    assert set(body) <= set(values)
    dropped = set(values) - set(body)
    for key in dropped:
        f = schema.field(key)
        assert f.kind == "integer", key
        assert not isinstance(f.default, int), key
    assert schema.validate(body) == {}
    assert schema.to_input(body) == body
    again = parse(json.loads(json.dumps(schema.raw)), component)
    assert again.to_input(json.loads(json.dumps(body))) == body
    assert SECRET_MASK not in json.dumps(body)


@pytest.mark.parametrize(("name", "component"), CASES)
def test_unset_optional_inputs_are_omitted(name: str, component: str) -> None:
    schema = parse(load(name), component)
    values = {f.name: None for f in schema.inputs if not f.required}
    assert schema.to_input(values) == {}
    assert schema.validate(values) == {
        f.name: "is required" for f in schema.inputs if f.required
    }


@pytest.mark.parametrize(("name", "component"), CASES)
def test_to_json_is_plain_json(name: str, component: str) -> None:
    schema = parse(load(name), component)
    for f in schema.inputs:
        data = f.to_json()
        text = json.dumps(data, allow_nan=False)
        assert json.loads(text) == data
        assert data["name"] == f.name
        assert data["kind"] == f.kind
        if f.kind == "secret":
            assert data["default"] is None
    json.dumps(schema.to_json(), allow_nan=False)


@pytest.mark.parametrize(("name", "component"), CASES)
def test_values_outside_the_schema_are_rejected_with_a_reason(
    name: str, component: str
) -> None:
    schema = parse(load(name), component)
    base = complete(schema)
    for f in schema.inputs:
        if f.kind in ("integer", "number") and f.maximum is not None:
            errors = schema.validate({**base, f.name: f.maximum + 1})
            assert errors == {f.name: f"must be at most {_num(f.maximum)}"}
        if f.kind in ("integer", "number") and f.minimum is not None:
            errors = schema.validate({**base, f.name: f.minimum - 1})
            assert errors == {f.name: f"must be at least {_num(f.minimum)}"}
        if f.kind == "choice":
            errors = schema.validate({**base, f.name: "not-a-choice"})
            assert errors[f.name].startswith("choose one of ")
        if f.kind == "integer":
            assert schema.validate({**base, f.name: 1.5}) == {
                f.name: "must be a whole number"
            }
        if f.kind == "boolean":
            assert schema.validate({**base, f.name: "yes"}) == {
                f.name: "must be true or false"
            }
        if f.kind == "file":
            assert schema.validate({**base, f.name: "no/such/file.png"}) == {
                f.name: "must be a URL, a data: URI or an existing file"
            }


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def test_the_largest_schema_keeps_all_43_inputs() -> None:
    schema = parse(load("schemas/nightmareai__disco-diffusion"))
    assert len(schema.inputs) == 43
    assert schema.field("seed").maximum == 4294967295
    assert schema.validate({"seed": 4294967295}) == {}
    assert schema.validate({"seed": 4294967296}) == {
        "seed": "must be at most 4294967295"
    }


def test_parse_fails_clearly_without_training_input() -> None:
    with pytest.raises(SchemaError, match="cannot be trained"):
        parse(load("schemas/black-forest-labs__flux-dev"), "TrainingInput")


def test_numbers_are_finite() -> None:
    for path in DOCS:
        for f in parse(json.loads(path.read_text("utf-8"))).inputs:
            for bound in (f.minimum, f.maximum):
                assert bound is None or math.isfinite(bound)
