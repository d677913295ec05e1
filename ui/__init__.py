"""Small reusable Streamlit pieces shared by the pages (never imports the database or LLM)."""
