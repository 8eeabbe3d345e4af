"""Browser tests of `loop ui` (tests/ui/conftest.py)."""
