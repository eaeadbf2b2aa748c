"""Paid membership (PLUS, 付费会员): plans bought with the wallet or outside, renewal, the
7-day cancellation rule, expiry, and the benefits an order applies."""
