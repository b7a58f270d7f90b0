"""The FHIR Bulk Data Access client (`etl fetch fhir`): transport.py (retries), jws.py and
auth.py (SMART Backend Services), client.py (kick-off, polling, downloads), session.py
(wiring them from the command line's options)."""
