"""Changes, as people propose, approve and follow them: the change workflow (workflow.py: propose,
approve, discard, cancel, advance; the one approval rule) and the pages of changes and of runs
(/changes/, /runs/). The records themselves are portal.runs'; the runner executes them."""
