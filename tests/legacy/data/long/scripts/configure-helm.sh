#!/bin/sh
set -e
echo configuring helm
