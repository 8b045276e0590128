"""Existing Packer templates: the scripts teams already have, brought along.

:mod:`.template` reads them (legacy JSON, a ``.pkr.hcl`` file or a folder), :mod:`.hcl_scan` keeps HCL2 source
positions, :mod:`.json_upgrade` converts legacy JSON as ``packer hcl2_upgrade`` does, :mod:`.preserve` keeps the
provisioner blocks exactly for ``compile --provisioners``, and :mod:`.importer` turns them into AIB ``customize``
steps for ``aibpack import``.
"""
