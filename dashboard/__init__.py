"""The Plotly Dash board, mounted inside the Flask app at /dashboard/ (issue 6; not built yet).

The navigation already offers it to the office, leaders and departments once
``init_dashboard(app)`` registers itself under ``app.extensions["dash"]``.
"""
