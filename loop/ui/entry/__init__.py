"""The script `streamlit run` starts (kept apart from ``loop/ui/pages``, see :mod:`loop.ui.app`)."""
