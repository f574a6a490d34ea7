"""Runtime plumbing the three workers share: settings base, MongoDB connection,
the per-laptop event-sourced document store, the faust app factory, dead
letters and heartbeats. No business rules live here: those stay in each
service's ``domain.py``. (Sharing plumbing rather than copying it three times
is a deliberate exception to "only events/ is shared"; see README.)"""
