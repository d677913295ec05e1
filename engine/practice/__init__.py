"""Practice: what pages call to practise, and the rule of what an answer does.

queue        today's queue, one question as shown, review counts
submit       answering (grade, then one locking read and one write)
dispute      "I was right": re-scoring an answer
flags        flags, keep, retire, the list that needs attention
preferences  the learner's scheduler and personal FSRS parameters
replace      a new question from the same passage, taking over the schedule
answering    the pure rule: rating, SM-2/FSRS, XP, streak, question quality
params       the rules' parameters from the settings
grading      grading one answer
store        shared reading and saving (private to the package)
"""
