"""Infrastructure as code: turns ``chalice package`` output into the production template.

``python -m infra.build --stage prod`` packages the app with Chalice, splits its one API function
into a function per endpoint group (``infra/groups.py``), adds the tables, queues, state machine and
bucket from ``chalicelib.adapters.definitions`` (what the local stack creates), and the alarms and
dashboard. The README, under "Deploying to AWS", says how to deploy the result.
"""
