"""What executes runs on the RQ workers, and has no pages: the job (execution.py), the terraform
adapter, the plan review, state locks, the worker's heartbeat and the recovery of runs whose worker
died, the wait for a healthy deploy, and the bootstrap that runs with the portal's own credentials."""
