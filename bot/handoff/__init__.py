"""Human handoff: tickets, the queue, staffed hours and the bridge to Rasa."""
