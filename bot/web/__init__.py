"""The aiohttp web app: awards register, staff console and APIs, widget, internal API."""
