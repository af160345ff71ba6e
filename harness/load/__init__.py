"""Load mode (`wicct load`): many WICs over WSS against an eP-CSCF, every response judged.

Locust is the engine (users, spawn rate, master and workers, its CSV files); each Locust
user is a WIC on a blocking TLS socket (cooperative under gevent in Locust's process) with
websockets' sans-I/O `ClientProtocol` for the frames and `harness.sip` for SIP. What a
user receives is judged by the pure checks of `harness.checks` (`judge.py`, a batch of a
user's messages at a time, each alone when the batch fails), latency goes
to an HDR histogram (`stats.py`). gevent patches `ssl` when Locust is imported, so Locust
runs in processes of its own (`locustfile.py`, started by `run.py`), never in the
asyncio process that hosts the SUT (`host.py`: the driver and a light IMS core,
`core.py`). `report.py` turns the merged figures into the `load` section of report.json
and its HTML page.
"""
