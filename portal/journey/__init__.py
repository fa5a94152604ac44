"""One service's journey through the portal, the same on the emulator and on AWS.

- steps.py: the journey, step by step and timed (the end-to-end test takes it on the emulator);
- acceptance.py: bin/aws-acceptance, the journey in a real sandbox account, torn down at the end;
- images.py: copying an image from a registry into a service's ECR repository, without Docker;
- leftovers.py: what a prefix left in the account, and removing the bootstrap's administrators and bucket.
"""
