"""Question generation: grounded questions from a learner's own material, by any LLM (through
`engine.llm`) or by the offline extractive generator. Pages call `engine.generation.service`;
accepted questions are kept by `engine.bank`."""
