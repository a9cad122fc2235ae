"""The rules engine: facts from a plain snapshot of one engagement, findings out.

No database, no HTTP, no clock (time comes in as a fact); only this package's engine
module imports ``durable``.
"""
