"""What `streamlit run` executes on every rerun: the app of :mod:`loop.ui.app`."""

from loop.ui.app import main

main()
