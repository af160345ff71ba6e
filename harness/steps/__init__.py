"""wicct's own step providers: the vocabulary of the case language.

`common` (no actor), `peer` (role-neutral: wicct's actor facing the SUT over the
WebSocket), `epcscf/` (the SUT is an eP-CSCF), `wic/` (the SUT is a WIC) and `monitors`.
Each is an entry point of the group `wicct.steps`; importing one registers its rows in
`harness.cases.registry`. See docs/architecture.md for where a new step goes.
"""
