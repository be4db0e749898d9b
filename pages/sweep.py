"""Sweep page (registered in app.py with st.navigation); the logic lives in dd_core.ui.sweep_page."""

from dd_core.ui import sweep_page

sweep_page.render()
