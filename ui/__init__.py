"""Gradio layer: one module per tab, layout and event wiring only (no model math; DESIGN.md)."""
