"""Understanding owners' own words: one scored step over every interpretation.

reading.py  the message: words, kind of sentence (question / command / report), slots
model.py    the classifier trained from content/nlu/examples.yaml and the FAQ
scoring.py  one score function per interpretation (pure)
rules.py    THE routing table: every interpretation with its priority, score and handler
act.py      what each interpretation does; consent first and resume
clarify.py  the one clarifying question when two interpretations are close
understand.py  interpret (pure) / understand + act (a live turn)
"""
