"""Feedback text, offline: scrubbing personal data, language, sentiment and keywords, for English and Portuguese.

Everything runs from data shipped in the installed wheels (VADER and its Portuguese fork LeIA, YAKE, phonenumbers,
validate-docbr); nothing is downloaded at run time.

```
scrub.py      personal data replaced by tokens: [email], [national_id] (CPF/CNPJ), [card] (Luhn), [phone]
language.py   en / pt / und by a deterministic vote of common words and Portuguese letters
sentiment.py  VADER (en) and LeIA (pt) compound score and label (+-0.05 thresholds)
keywords.py   YAKE keywords (up to two words, top five), deterministic in any process
enrich.py     the steps in order on the scrubbed text, for a batch (process pool when large); ENRICHER_VERSION
store.py      enrich.feedback_texts: one row per distinct text, keyed by its SHA-256; incremental
```
"""
