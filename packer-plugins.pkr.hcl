# Plugins that `packer init` installs for aibpack builds (Packer >= 1.7).
# aibpack copies this file beside the compiled template; it is not part of the compiled output,
# so the output itself still validates with Packer 1.6.6.
packer {
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.0.3"
    }
    windows-update = {
      source  = "github.com/rgl/windows-update"
      version = ">= 0.16.0"
    }
  }
}
