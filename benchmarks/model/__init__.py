"""The results model: saved runs read back, two runs compared, implementations' results checked for parity,
problem files read, and files written atomically. No plotting here."""
