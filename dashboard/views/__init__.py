"""One module per view: ``layout()`` builds its components, ``register(app)`` its callbacks.

Callback bodies are module-level functions of plain values (no ``dash.ctx`` inside, no globals
mutated), so tests call them directly.
"""
