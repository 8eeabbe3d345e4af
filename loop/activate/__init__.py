"""Activation: the daily audiences turned into files for ad platforms and the company's own email/push tools.

- :mod:`loop.activate.normalize`: contact data normalized and SHA-256 hashed per destination, as Google Customer
  Match and Meta Custom Audiences document it (sources in its docstring); ``owned`` gets plain customer ids.
- :mod:`loop.activate.export`: ``export_audiences(settings, destination, out_dir, run_id=...)`` writes each
  audience's full file once, then incremental ``adds``/``removes`` files with a ``manifest.json``, keeping the
  exported rows in the warehouse (``ops.audience_export_rows``, ``ops.audience_export_log``); consent and holdouts
  are enforced again on the way out. ``loop export audiences --destination ...`` runs it.

Raw contact data never leaves the warehouse: paid files carry only hashes (and, for Google, country and zip in
clear, as Google requires), owned files only customer ids.
"""

from loop.activate.export import AudienceExport, ExportFile, export_audiences
from loop.activate.normalize import DESTINATIONS

__all__ = ["DESTINATIONS", "AudienceExport", "ExportFile", "export_audiences"]
