"""Distill page (registered in app.py with st.navigation); the logic lives in dd_core.ui.distill_page."""

from dd_core.ui import distill_page

distill_page.render()
