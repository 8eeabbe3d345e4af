"""The app of `loop ui`: page config and the navigation between the pages (:mod:`loop.ui.pages`).

Streamlit runs :mod:`loop.ui.entry.streamlit_app`, which calls :func:`main` on every rerun. The entry script lives
in its own folder because Streamlit treats a ``pages/`` folder beside the script it runs as an old-style
multipage app and would then ignore ``st.navigation``.
"""

from __future__ import annotations

import streamlit as st

from loop.ui.pages import experience, operations, product, scorecard
from loop.ui.pages import loop as loop_page


def main() -> None:
    st.set_page_config(layout="wide", page_title="loop")
    st.navigation(
        [
            st.Page(scorecard.render, title="Scorecard", url_path="scorecard", default=True),
            st.Page(experience.render, title="Experience", url_path="experience"),
            st.Page(product.render, title="Product", url_path="product"),
            st.Page(loop_page.render, title="Loop", url_path="loop"),
            st.Page(operations.render, title="Operations", url_path="operations"),
        ]
    ).run()


if __name__ == "__main__":
    main()
