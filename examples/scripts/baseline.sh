#!/bin/sh
# Baseline hardening for the golden image: runs as the build user, so use sudo.
set -eu
sudo apt-get update
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unattended-upgrades auditd
sudo systemctl enable auditd
