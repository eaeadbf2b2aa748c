"""Risk rules (风控): pure checks on a member's recent recharges, and the audit of every
decision (passed, held, rejected, approved, rejected on review) with its rule and reason."""
