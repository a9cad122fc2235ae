"""Engagements, their four sides, who holds which function on them, and who decides."""
