"""Checks of the engine against the outside world: the torch builder, verify (fvcore and the other
counters), reproduce (the published figures)."""
