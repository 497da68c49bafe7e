"""The awards register: CSV import/export, aliases and queries."""
