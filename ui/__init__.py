"""Streamlit helpers every page shares: run sources, cached loading, charts with export,
"show the code", and the standard messages. Only the app and the page modules (views/)
import this package; importing it has no side effects.

(The page modules live in views/, not pages/: Streamlit treats a `pages/` folder beside the
main script as its old multipage layout, which would open a deep link on a fresh server
without app.py's navigation and sidebar.)
"""
