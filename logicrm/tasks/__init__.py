"""Tasks: the team's day — calls, visits, callbacks, renewals — from people, playbooks and cadences."""
