"""Feedback text, offline: scrubbing personal data, language, sentiment and keywords, for English and Portuguese.

Everything runs from data shipped in the installed wheels (VADER and its Portuguese fork LeIA, YAKE, phonenumbers,
validate-docbr); nothing is downloaded at run time.

```
store.py   enrich.feedback_texts: one row per distinct text, keyed by its SHA-256; incremental
```
"""
