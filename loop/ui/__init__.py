"""`loop ui`: pages for marketers and product teams, in a browser, on the published datasets only.

A Streamlit app served on 127.0.0.1. Every page reads through the read-only published-data connection
(:func:`loop.publish.reader.open_reader`: the current Parquet files of each pillar, never the warehouse) and says at
its top which cycle and data interval it shows.

```
server.py           `loop ui`: starts `streamlit run entry/streamlit_app.py` on 127.0.0.1, waits until it answers
app.py              the app: page config and the navigation between pages
entry/              the script `streamlit run` starts (it calls app.main(); apart from pages/, see app.py)
data.py             settings, the cached read-only connection (renewed when a publication switches), page header
pages/scorecard.py  campaigns ranked by promise kept; one campaign's experience, feedback, audiences and actions
pages/experience.py sessions, conversion, errors and latency by day, channel, campaign and product area
pages/product.py    NPS/CSAT by area and version, release impact, signals, the feedback browser and its download
pages/loop.py       actions taken, audience sizes and holdouts, outcomes with their intervals
pages/operations.py last cycles, landed/quarantined per source, validation per pillar, publications
```
"""
