"""The product's vocabulary and value types, shared by models, services and pages.

Nothing here imports the database, Streamlit, litellm or Chroma.
"""
