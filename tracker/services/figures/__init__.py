"""What leaders read: the board's figures, the bulletins (通报) and department scoring (考核)."""
