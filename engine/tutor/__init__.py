"""The tutor: grounded answers from a learner's own materials with a citation per sentence.

Pages call `engine.tutor.service` (ask, stream_answer, retry, quiz_preview) and
`engine.tutor.store` (conversations and messages).
"""
