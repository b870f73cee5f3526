"""The Dash Pareto-front explorer (issue 6). ``create_app()`` lives in :mod:`dashboard.app`.

Importing this package imports nothing heavy; dash and plotly load in :mod:`dashboard.app`.
"""
