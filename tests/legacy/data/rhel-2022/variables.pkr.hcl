variable "subscription_id" {
  type    = string
  default = env("ARM_SUBSCRIPTION_ID")
}

variable "location" {
  type        = string
  default     = "northeurope"
  description = "Azure region of the build VM"
}

variable "registry_password" {
  type      = string
  sensitive = true
}

variable "packages" {
  type = list(string)
  default = [
    "git",
    "jq",
    "podman",
  ]
}

variable "proxy_url" {
  type    = string
  default = ""
}

locals {
  build_stamp = formatdate("YYYYMMDD-hhmm", timestamp())
  image_name  = "rhel8-base-${local.build_stamp}"
  pkg_list    = join(" ", var.packages)
}
