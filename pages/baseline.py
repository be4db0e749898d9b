"""Baseline page (registered in app.py with st.navigation); the logic lives in dd_core.ui.baseline_page."""

from dd_core.ui import baseline_page

baseline_page.render()
