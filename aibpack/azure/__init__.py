"""The Azure side of ``aibpack run``: clients, staging group, preflight and cleanup.

Every module here imports the Azure SDK lazily, inside functions, so compiling never loads it.
"""
