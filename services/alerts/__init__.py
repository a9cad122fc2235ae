"""What the rules find: evaluating an engagement, keeping its alerts true, the sweep."""
