"""Streamlit helpers every page shares: run sources, cached loading, charts with export,
"show the code", and the standard messages. Only the app and pages import this package."""
