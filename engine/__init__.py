"""Groundwork engine: everything the pages call; never imports streamlit."""
