"""The error boundary of every page and fragment: an exception becomes a message, never a traceback."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from functools import wraps

import streamlit as st

log = logging.getLogger("distilllab.ui")


def safe(render: Callable[[], None]) -> Callable[[], None]:
    """Run a page (or fragment) body; an unexpected exception becomes a short message, never a traceback."""

    @wraps(render)
    def wrapper(*a, **kw):
        try:
            return render(*a, **kw)
        except Exception as err:  # noqa: BLE001
            from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

            if isinstance(err, ScriptControlException):  # st.rerun / st.stop / st.switch_page
                raise
            from dd_core.errors import DDError

            log.error("page error: %s", traceback.format_exc())
            if isinstance(err, DDError):
                from .messages import ui_message

                st.error(ui_message(str(err)))
            else:
                st.error(f"Something went wrong on this page: {type(err).__name__}: {str(err)[:300]}")

    return wrapper
