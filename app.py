"""DistillLab: the Streamlit entry point (`streamlit run app.py`). Navigation plus the home page.

The four other pages live in ``pages/`` and are listed explicitly with ``st.navigation``; each is a thin file that
calls its ``dd_core.ui`` module (so the page logic is importable and tested).
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="DistillLab", page_icon="🧪", layout="wide")


def home() -> None:
    from dd_core.ui import home_page
    home_page.render()


pages = [
    st.Page(home, title="Home", icon=":material/home:", default=True, url_path="home"),
    st.Page("pages/distill.py", title="Distill", icon=":material/science:", url_path="distill"),
    st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:", url_path="gallery"),
    st.Page("pages/compare.py", title="Compare", icon=":material/bar_chart:", url_path="compare"),
    st.Page("pages/baseline.py", title="Baseline", icon=":material/straighten:", url_path="baseline"),
]
st.navigation(pages).run()
