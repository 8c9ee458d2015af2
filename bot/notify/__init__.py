"""Notifications (docs/rules.md#notifications): an outbox in PostgreSQL, written in the transaction
of the change it announces, and workers that deliver it to Telegram at Telegram's pace.

- `schedule`: `queue_*` functions the services call inside their transactions;
- `worker` / `runner`: claim due rows with a lease, send, settle (`python -m bot worker`);
- `sender` / `ratelimit`: the Bot API call and the pacing shared by all workers through Redis;
- `render`: row -> localized text and buttons; `agenda`: the specialist's day;
- `kinds`: the message kinds.
"""
