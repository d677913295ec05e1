"""Spaced-repetition scheduling: SM-2, FSRS-6, the attempt -> grade mapping, evaluation and
per-learner FSRS optimisation. Pure code: no database, Streamlit or LLM imports."""
