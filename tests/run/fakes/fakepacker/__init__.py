"""The fake ``packer``'s code; ``../packer`` is the command that runs it.

``hcl.py`` reads the template as Packer does, ``config.py`` holds the builder's Prepare checks, ``auth.py`` its
sign-in, ``arm.py`` its Resource Manager calls, ``build.py`` its steps, and ``cli.py`` the commands, the
machine-readable output and the call log.
"""

import os

VERSION = tuple(int(p) for p in os.environ.get("FAKE_PACKER_VERSION", "1.11.2").split(".")[:3])
PLUGIN_V2 = VERSION >= (1, 7, 0)  # Packer 1.7 loads the azure plugin; before it the builder was bundled


class Failed(Exception):
    """The build fails with this message (Packer's ui,error and error lines, exit 1)."""
