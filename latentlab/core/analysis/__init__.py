"""What the app's views compute, without Qt: plain functions and generators.

Each runs in a background job (``latentlab.qt.jobs``) on copies of the session's
state; a generator's ``yield`` is a point where the job can be cancelled.
"""
