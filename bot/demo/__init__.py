"""`python -m bot demo`: the product on one machine (embedded services, emulator, web chat)."""
