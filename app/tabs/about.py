"""The About tab: what the explorer shows and how to read it."""
from __future__ import annotations

import gradio as gr

from ..about import ABOUT_MD
from .base import Tab


def build(u, d):
    gr.Markdown(ABOUT_MD)


TAB = Tab("about", "About", build)
