"""Account teams from the people side: the caller and what it covers, team roles, handing over."""
