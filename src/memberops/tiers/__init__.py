"""Member tiers (会员等级): the ladder in force, qualifying activity, upgrades at once,
the yearly retention review (保级), manual floors, and what-if replays of a new ladder."""
