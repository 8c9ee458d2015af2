"""Typed dependency injection for the bot (dishka).

`types` holds what handlers ask for besides the services (the client behind the update, the
update's `Now`, the process `Clock`); `providers` builds the container: APP scope for what lives
as long as the process, REQUEST scope for what belongs to one update.
"""
