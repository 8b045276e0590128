source "null" "a" {
  communicator = "none"
}

build {
  name    = "linux"
  sources = ["source.null.a"]
  provisioner "shell-local" {
    inline = ["echo linux"]
  }
}

build {
  name    = "windows"
  sources = ["source.null.a"]
  provisioner "shell-local" {
    inline = ["echo windows"]
  }
}
