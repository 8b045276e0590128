"""ARM template expressions (``"[concat(parameters('a'), '-x')]"``), evaluated offline.

A string that starts with ``[`` and ends with ``]`` is an expression; ``[[`` escapes a literal. The
expression is tokenized, parsed by recursive descent into a small tree, and evaluated against the
parameters, the variables and a :class:`DeploymentContext`. Only what can be known without calling Azure
is supported: anything else (``reference()``, ``newGuid()``, ...) is an error naming the function
and the JSON path of the string, never a guess. ``uniqueString()`` and ``guid()`` are hashes, computed
as Azure computes them.

The package is a small compiler of its own: :mod:`.syntax` (tokens, parser), :mod:`.evaluate` (the tree walk,
parameters, variables, lambdas), :mod:`.functions` (the function table), :mod:`.context` (the deployment) and
:mod:`.names` (``uniqueString``/``guid``).
"""

from aibpack.load.arm.context import DeploymentContext
from aibpack.load.arm.evaluate import Evaluator, Passed

__all__ = ["DeploymentContext", "Evaluator", "Passed"]
