build {
  name    = "rhel8"
  sources = ["source.azure-arm.rhel8"]

  # wait for cloud-init before touching yum
  provisioner "shell" {
    inline = ["cloud-init status --wait"]
  }

  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E bash '{{ .Path }}'"
    environment_vars = [
      "HTTPS_PROXY=${var.proxy_url}",
      "PKGS=${local.pkg_list}",
    ]
    inline = [
      <<-EOT
        set -euo pipefail
        dnf -y update
        dnf -y install $${PKGS}
        echo "proxy is ${var.proxy_url}" > /etc/motd
      EOT
      ,
      "echo done",
    ]
    max_retries = 2
    timeout     = "30m"
  }

  provisioner "file" {
    sources     = ["${path.root}/files/conf.d/", "files/banner.txt"]
    destination = "/tmp/"
  }

  provisioner "shell" {
    script           = "./scripts/harden.sh"
    execute_command  = "sudo -S -E sh -c '{{ .Vars }} {{ .Path }}'"
    expect_disconnect = true
    pause_before     = "15s"
    only             = ["azure-arm.rhel8"]
  }

  provisioner "shell" {
    inline = [<<EOF
cat > /etc/containers/auth.json <<'JSON'
{"auths": {"registry.example.com": {"auth": "${base64encode("svc:${var.registry_password}")}"}}}
JSON
  key = value
  longer_key = value
EOF
    ]
    except = ["azure-arm.rhel8-dev"]
  }

  provisioner "shell-local" {
    inline = ["echo finished ${build.ID} in ${var.location}"]
  }

  provisioner "shell" {
    inline = ["sudo /usr/sbin/waagent -force -deprovision+user && export HISTSIZE=0 && sync"]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
