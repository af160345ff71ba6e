"""Built-in hostile peers (issue 11 item 3): a hostile eP-CSCF (`epcscf.py`, a WSS server)
and a hostile WIC (`wic.py`, a client of wicct's eP-CSCF emulator), each switched to one
row of the hostile-SUT matrix (`matrix.py`) by its profile:
`driver: hostile`, `driver_options: {behaviour: <row>}`.

Modules: `matrix` (rows, what wicct must make of each, profiles for them), `loop` (the
peer's own thread and event loop), `wire` (one connection on websockets' sans-I/O
protocol, the few hand-written frames), `behaviours` (what a peer does once the WebSocket
is open), `torture` (RFC 4475 §3 messages, package data), `epcscf`, `wic` (the drivers).
"""
