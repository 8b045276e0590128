#!/bin/sh
set -e
apt-get install -y jq unzip curl ${APT_MIRROR:+--option Acquire::http::Proxy=$HTTP_PROXY}
