"""Choosing a configuration: accuracy estimates, Pareto fronts, recommendations."""
