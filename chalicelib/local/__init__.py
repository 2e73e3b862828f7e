"""The local stack: moto, the API, an event pump and an outbound sandbox in one process.

Development only; nothing in the Lambda code imports this package. Start it with
``python -m chalicelib.local run``.
"""
