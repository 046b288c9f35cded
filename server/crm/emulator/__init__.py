"""A local Salesforce org over real HTTPS: for tests, benchmarks and `make demo` (never for production).

``EmulatorServer`` serves :mod:`server.crm.emulator.app` with uvicorn and a certificate from a trustme test
CA; clients trust that CA through their ``requests`` session (``verify``). The org lives in memory
(:mod:`server.crm.emulator.org`); faults are injected with :mod:`server.crm.emulator.faults`.
"""
