"""Staff accounts, sessions, login throttling and the audit log."""
