"""Saved segments (人群) and their snapshots; definitions are evaluated by
`memberops.analytics.segments`."""
