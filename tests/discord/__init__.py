"""End-to-end tests of the Discord layer through the real discord.py client and a loopback fake Discord."""
