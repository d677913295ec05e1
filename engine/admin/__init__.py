"""Running the server: roles, the audit log, and the services behind the admin console.

Every service here takes the id of the account calling it (`actor_id`) and checks its role
first, so a learner who reaches an admin page (or calls a service some other way) is refused
by the engine, not only hidden from the navigation. Every change is written to the audit log
in the same transaction as the change itself.
"""
