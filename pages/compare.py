"""Compare page (registered in app.py with st.navigation); the logic lives in dd_core.ui.compare_page."""

from dd_core.ui import compare_page

compare_page.render()
