"""DistillLab: the Streamlit entry point (`streamlit run app.py`). Navigation plus the home page.

The other pages live in ``pages/`` and are listed explicitly with ``st.navigation``; each is a thin file that
calls its ``dd_core.ui`` module (so the page logic is importable and tested).

This file plays two parts. ``streamlit run app.py`` finds the ``st.App`` below and imports the file once as the
server, whose start-up hook imports PyTorch & co. before the server accepts connections (``dd_core.ui.warmup``), so
the first visit does not wait for them. Every browser session then runs the file as its script
(``__name__ == "__main__"``), which draws the pages. Streamlit versions without ``st.App`` simply run the script.
"""

from __future__ import annotations

import streamlit as st


def home() -> None:
    from dd_core.ui import home_page

    home_page.render()


def main() -> None:
    st.set_page_config(page_title="DistillLab", page_icon="🧪", layout="wide")
    pages = [
        st.Page(home, title="Home", icon=":material/home:", default=True, url_path="home"),
        st.Page("pages/distill.py", title="Distill", icon=":material/science:", url_path="distill"),
        st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:", url_path="gallery"),
        st.Page("pages/compare.py", title="Compare", icon=":material/bar_chart:", url_path="compare"),
        st.Page("pages/sweep.py", title="Sweep", icon=":material/grid_view:", url_path="sweep"),
        st.Page("pages/baseline.py", title="Baseline", icon=":material/straighten:", url_path="baseline"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":  # a session's script run (and AppTest)
    main()
elif hasattr(st, "App"):  # imported once by `streamlit run app.py`: the server, with its start-up hook
    from dd_core.ui.warmup import lifespan

    app = st.App(__file__, lifespan=lifespan)
