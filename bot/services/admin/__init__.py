"""The admin area's use cases: roles, audit log, specialist invites, the front desk
(docs/rules.md#admin-rights).

Every use case takes the acting admin's Telegram id and checks the role on the server inside its
own transaction, so a removed admin is refused at once, old buttons or not. Every change writes
its audit row in that same transaction.
"""
