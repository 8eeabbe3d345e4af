"""Running loop cycles through Airflow, on the embedded defaults (SQLite metadata DB + LocalExecutor).

* ``environment`` — the Airflow environment and metadata-DB migration shared by both modes;
* ``api`` — a small REST client with retries and backoff;
* ``supervisor`` — the process that owns every Airflow process of a deployment and stops them all when the
  ``loop`` command that started it exits, however it exits;
* ``embedded`` — ``loop run``: a private Airflow for the duration of the command (``EmbeddedAirflow``,
  ``run_cycles``, ``CycleRun``);
* ``standing`` — ``loop serve``: a long-lived Airflow with the UI and the daily schedule.
"""
