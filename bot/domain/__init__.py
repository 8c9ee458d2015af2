"""Pure booking rules: no aiogram, no SQL, no I/O; the clock is always passed in."""
