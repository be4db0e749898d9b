"""Gallery page (registered in app.py with st.navigation); the logic lives in dd_core.ui.gallery_page."""

from dd_core.ui import gallery_page

gallery_page.render()
