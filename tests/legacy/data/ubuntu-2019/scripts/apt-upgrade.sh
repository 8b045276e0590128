#!/bin/sh
set -e
apt-get update
apt-get -y dist-upgrade
