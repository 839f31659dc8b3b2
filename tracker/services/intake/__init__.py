"""Reading text into draft tasks: minutes and instructions split into items, deadline phrases read."""
