"""The Azure side of ``aibpack run``: clients, checks, staging group, distribution, permissions, cleanup.

Every module here imports the Azure SDK lazily, inside functions, so compiling never loads it.
"""
