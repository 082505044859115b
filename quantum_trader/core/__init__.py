"""The pure decision core: no I/O, no clock reads, no event loop.

Every function here takes plain numbers or frozen dataclasses and returns frozen dataclasses.
Bad input raises :class:`~quantum_trader.core.errors.InvalidInput` with the field and the problem.
"""
