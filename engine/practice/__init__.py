"""Practice services: today's queue, answering and grading, disputes, flags, retirement and
replacement, review counts and the learner's choice of scheduler."""
