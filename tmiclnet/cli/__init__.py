"""The one way in: `python -m tmiclnet <command>`, a module per command (`tmiclnet.cli.main`)."""
