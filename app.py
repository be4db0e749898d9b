"""DistillLab: the Streamlit entry point (`streamlit run app.py`). Navigation plus the home page."""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="DistillLab", page_icon="🧪", layout="wide")


def home() -> None:
    from dd_core.ui import home_page
    home_page.render()


pages = [st.Page(home, title="Home", icon="🏠", default=True, url_path="home")]
st.navigation(pages).run()
