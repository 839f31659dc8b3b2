"""Messages to users: the inbox, the delivery queue and its transports, the daily digest, and where messages go."""
