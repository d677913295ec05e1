"""Moving questions and study history between Groundwork and other tools (LMS exports, Anki
import)."""
