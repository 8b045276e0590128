source "azure-arm" "rhel8" {
  subscription_id                   = var.subscription_id
  use_azure_cli_auth                = true
  os_type                           = "Linux"
  image_publisher                   = "RedHat"
  image_offer                       = "RHEL"
  image_sku                         = "8-lvm-gen2"
  location                          = var.location
  vm_size                           = "Standard_D2s_v3"
  managed_image_name                = local.image_name
  managed_image_resource_group_name = "rg-images"
}
