"""Packer side of aibpack: running the packer binary and reading its machine-readable output."""
