"""The legality-first pathway's logic, kept free of channels and of the conversation engine.

- `rules`     reads content/legality/*.yaml, content/faq/*.yaml and content/glossary.yaml, and checks them
- `classify`  product words -> sector, permit route and halal route (asks at most a few yes/no questions)
- `numbers`   permit-number formats, kind corrections, expiry dates
- `faq`       answers short free-text questions from the FAQ and glossary (rapidfuzz, threshold + margin)
- `plain`     message splitting, first-use explanations of technical words, "verify" caveats
- `pathway`   the owner's steps in the database: create, seed, next step, report, reject

Facts live in content/, never here: staff change a rule by editing YAML.
"""
