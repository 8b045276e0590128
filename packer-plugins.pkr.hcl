# Plugins that `packer init` installs for aibpack builds (Packer >= 1.7).
# aibpack copies this file beside the compiled template; it is not part of the compiled output,
# so the output itself still validates with Packer 1.6.6.
# azure >= 2.1.5: the first with oidc_request_url/oidc_request_token (GitHub Actions OIDC sign-in), which `aibpack run`
# sets for --auth env in GitHub Actions (packer-plugin-azure CHANGELOG and builder/azure/common/client/config.go).
packer {
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.1.5"
    }
    windows-update = {
      source  = "github.com/rgl/windows-update"
      version = ">= 0.16.0"
    }
  }
}
