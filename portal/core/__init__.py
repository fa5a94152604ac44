"""What every app uses and that knows nothing of them: strict parsing of parameters, the one
refusal type, AWS sessions, masking secrets in text. Imports nothing else of the portal."""
