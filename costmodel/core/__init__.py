"""The description and everything that counts from it: arch (the architecture description),
conventions, engine (the one counting registry), sweep, formula, reduction, breakdown."""
