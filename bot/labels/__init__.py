"""Label check: read a package-label photo offline (Pillow + Tesseract) and check it against
content/legality/label_rules.yaml. See docs/labels.md.

ocr.py (reading), check.py (the checks), answer.py (the owner's words), service.py (a turn's glue
and the LabelCheck row), card.py (the mentor's case card), synth.py + evaluate.py (the generated
label set and its figures), rules.py + texts.py (content and its checks)."""
