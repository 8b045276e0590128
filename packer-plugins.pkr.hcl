# Every plugin an aibpack build may need, for `packer init packer-plugins.pkr.hcl` ahead of time (a CI runner image,
# an offline mirror). `aibpack compile -o DIR` and `aibpack run` write their own copy beside the compiled file with
# only what that template needs; both come from aibpack/plan/plugins.py, and a test keeps this file equal to it.
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
