"""人大代表建议 and 政协委员提案: their handling steps and the 交办清单 import."""
