"""aibpack: Azure Image Builder templates, built with your own Packer."""

__version__ = "0.1.0"
