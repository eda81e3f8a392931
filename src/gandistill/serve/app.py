"""The ``gandistill serve`` page: pick a scanned model, upload an input, see the translation.

    app = build_app(Translator(ModelRegistry(["runs/"]), UploadLimits.from_mb(10)))
    launch(app, host="127.0.0.1", port=7860, max_bytes=10 << 20)

Gradio is imported here only, so the rest of the package does not pay for it. It runs offline:
analytics off, no share link, system fonts instead of a web-font theme, no server-side rendering.
"""
from __future__ import annotations

import atexit
import html
import os
import shutil
import tempfile
from typing import Any

from ..errors import GandistillError
from .models import ModelEntry
from .predict import Request, Translator
from .validate import AUDIO_EXTENSIONS

# Which input widgets each kind of model shows (the k slider and reference go with I2I only).
VISIBLE = {
    "image": {"image", "reference", "k", "seed"},
    "seg": {"label_map", "reference", "k", "seed"},
    "text": {"caption", "seed"},
    "audio": {"audio", "seed"},
    "x2i-image": {"image", "seed"},
    "gpd": {"image"},  # deterministic: no noise, so no seed
}
CSS = """
#output img, .preview img { image-rendering: pixelated; object-fit: contain; }
#status p { font-weight: 600; }
"""


def _gradio() -> Any:
    # offline: must be set before gradio is imported (it reads them at import time)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if "GRADIO_TEMP_DIR" not in os.environ:  # uploads live in a private folder, not a shared /tmp/gradio
        os.environ["GRADIO_TEMP_DIR"] = folder = tempfile.mkdtemp(prefix="gandistill-serve-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # visitors' uploads do not outlive the server
    import gradio as gr

    return gr


def _status(message: str) -> str:
    return f"⚠️ {html.escape(message)}" if message else ""


def upload_path(value: Any) -> str | None:
    """The server-side file of an upload as the page hands it over unprocessed (events run with
    ``preprocess=False``, so a broken file reaches our own checks and their message instead of
    Gradio's decoder error): a FileData dict, a plain path, or nothing."""
    if isinstance(value, dict):
        return value.get("path") or None
    return value or None


def _image_input(gr: Any, label: str, elem_id: str, visible: bool) -> Any:
    # drop, paste or click; the original file reaches the server untouched (no re-encoding)
    return gr.Image(label=label, type="filepath", sources=["upload", "clipboard"], image_mode=None,
                    elem_id=elem_id, height=200, visible=visible, elem_classes="preview",
                    buttons=["fullscreen"])


def build_app(translator: Translator) -> Any:
    """The gr.Blocks page for the models of ``translator.registry``."""
    gr = _gradio()
    registry = translator.registry
    labels = registry.labels
    first = registry.entries[labels[0]] if labels else None

    shown = VISIBLE[first.kind] if first else set()
    num_ws, default_k = first.k_range() if first and first.kind in ("image", "seg") else (1, 0)

    with gr.Blocks(title="gandistill serve", delete_cache=(3600, 3600)) as app:
        gr.Markdown("## gandistill — translate with a trained model\nChoose a model, give it an input (drop a "
                    "file on a box, paste an image, or click to choose one), press **Translate**. Inputs are "
                    "centre-cropped to a square and resized to the model's resolution.")
        with gr.Row():
            model = gr.Dropdown(registry.choices(), value=labels[0] if labels else None, label="Model",
                                allow_custom_value=False, scale=2, elem_id="model")
            info = gr.Markdown(first.describe() if first else "No servable model was found in the models folder.",
                               elem_id="model-info")
        with gr.Row(equal_height=False):
            with gr.Column():
                with gr.Row():
                    image = _image_input(gr, "Photo / sketch (png, jpg, webp)", "image-upload", "image" in shown)
                    label_map = _image_input(gr, "Label map (single-channel PNG of class indices)", "label-upload",
                                             "label_map" in shown)
                    reference = _image_input(gr, "Reference image for the appearance (optional)",
                                             "reference-upload", "reference" in shown)
                preview = gr.Image(label="Input as the model sees it", interactive=False, height=160,
                                   elem_classes="preview", elem_id="preview", buttons=["fullscreen"],
                                   visible=bool(shown & {"image", "label_map"}))
                k = gr.Slider(0, num_ws, value=default_k, step=1, elem_id="k", visible="k" in shown,
                              label="Crossover k (style rows ≥ k come from the reference)")
                caption = gr.Textbox(label="Caption", placeholder="a smiling face with red hair", max_lines=3,
                                     elem_id="caption", visible="caption" in shown)
                audio = gr.File(label="Audio clip (mono PCM WAV)", file_types=list(AUDIO_EXTENSIONS),
                                elem_id="audio-upload", height=120, visible="audio" in shown)
                seed = gr.Number(0, precision=0, label="Seed (appearance noise)", elem_id="seed",
                                 visible="seed" in shown)
                button = gr.Button("Translate", variant="primary", elem_id="translate")
            with gr.Column():
                output = gr.Image(label="Translation", interactive=False, format="png", height=420,
                                  elem_id="output", buttons=["download", "fullscreen"])  # no share-to-hub
                status = gr.Markdown("", elem_id="status")  # the one place a message is shown

        widgets = {"image": image, "label_map": label_map, "reference": reference, "k": k, "caption": caption,
                   "audio": audio, "seed": seed}

        def layout(entry: ModelEntry | None) -> list[Any]:
            shown = VISIBLE[entry.kind] if entry else set()
            updates = [gr.update(visible=name in shown) for name in widgets]
            if entry is not None and entry.kind in ("image", "seg"):
                num_ws, default_k = entry.k_range()
                updates[list(widgets).index("k")] = gr.update(visible=True, minimum=0, maximum=num_ws,
                                                              value=default_k)
            return updates + [gr.update(visible=bool(shown & {"image", "label_map"}))]

        def on_model(label: str | None) -> list[Any]:
            try:
                entry = registry.entry(label)
                return [entry.describe()] + layout(entry) + [None, ""]
            except (GandistillError, ValueError, KeyError, TypeError) as exc:  # also a config.json gone odd
                return [""] + layout(None) + [None, _status(str(exc))]

        def on_upload(value: Any, label: str | None, what: str) -> list[Any]:
            img, message = translator.preview(upload_path(value), label, what)
            if message:  # a rejected upload: no stale translation next to the message
                return [None, _status(message), None]
            return [img, "", gr.update()]

        def on_translate(label, image_value, ref_value, label_value, text, audio_value, k_value, seed_value):
            req = Request(label, upload_path(image_value), upload_path(ref_value), upload_path(label_value), text,
                          upload_path(audio_value), None if k_value is None else int(k_value),
                          int(seed_value or 0))
            img, message = translator.safe_run(req)
            return img, _status(message) if message else "Done."

        layout_outputs = [info, *widgets.values(), preview, output, status]
        model.change(on_model, model, layout_outputs)
        upload_outputs = [preview, status, output]
        image.change(lambda v, m: on_upload(v, m, "photo"), [image, model], upload_outputs, preprocess=False)
        label_map.change(lambda v, m: on_upload(v, m, "label map"), [label_map, model], upload_outputs,
                         preprocess=False)
        reference.change(lambda v, m: on_upload(v, m, "reference image")[1:] if v else ["", gr.update()],
                         [reference, model], [status, output], preprocess=False)
        button.click(on_translate, [model, image, reference, label_map, caption, audio, k, seed], [output, status],
                     preprocess=False)
    return app


def theme() -> Any:
    """The default look with system fonts only, so no theme can ever ask for a web font."""
    gr = _gradio()
    sans = [gr.themes.Font("system-ui"), gr.themes.Font("Segoe UI"), gr.themes.Font("sans-serif")]
    mono = [gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")]
    return gr.themes.Default(font=sans, font_mono=mono)


def launch(app: Any, host: str = "127.0.0.1", port: int = 7860, max_bytes: int = 10 << 20,
           block: bool = True) -> None:
    """Serve ``app`` on ``host:port``; ``block=False`` returns once the server is up (call ``app.close()``)."""
    app.queue(default_concurrency_limit=1)  # one translation at a time: the model is shared
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
               max_file_size=max_bytes, ssr_mode=False, prevent_thread_lock=not block, quiet=True,
               footer_links=[], theme=theme(), css=CSS, mcp_server=False, pwa=False)
