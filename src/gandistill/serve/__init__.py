"""``gandistill serve``: a local web page (Gradio) that runs trained students on uploaded inputs.

    gandistill serve --models runs/ --port 7860        # then open http://127.0.0.1:7860

``models`` finds and loads model directories, ``validate`` checks uploads, ``predict`` runs a request
without Gradio, and ``app`` builds the page (the only module that imports gradio).
"""
from __future__ import annotations

from .models import SERVABLE_KINDS, ModelEntry, ModelRegistry, scan_models
from .predict import Request, Translator
from .validate import UploadLimits

__all__ = ["SERVABLE_KINDS", "ModelEntry", "ModelRegistry", "Request", "Translator", "UploadLimits", "scan_models"]
