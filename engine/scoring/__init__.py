"""Question quality, retirement rules, XP, levels and streaks. Pure code: no database,
Streamlit or LLM imports."""
