"""Service KPIs for supervisors: tickets, callbacks, tasks and contacts per agent and per team."""
