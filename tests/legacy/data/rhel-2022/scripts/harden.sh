#!/bin/sh
set -e
chmod 600 /etc/ssh/sshd_config
systemctl restart sshd
