"""The learner's question bank: saving accepted drafts, listing, reading, editing and deleting
questions. Used by generation, practice, the tutor and export; pages call `engine.bank.service`."""
