"""The rulebook: thresholds, playbooks, handling plans, cadences and SLAs as versioned data."""
